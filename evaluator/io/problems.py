"""One problem found in a submission, shared by the readers and the validation report.

It lives in `evaluator.io` (re-exported by `evaluator.validation`) so that low-level readers
such as the HC18 ellipse-CSV parser can report problems without importing the validation
layer that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluator.io.names import printable

# Codes that describe something ignored rather than wrong: they never fail a submission.
WARNING_CODES = frozenset({"ignored_file"})


@dataclass(frozen=True)
class Problem:
    """A defect with its case (None when it concerns the whole submission) and a code.

    `code` is stable and machine-readable (documented in docs/formats.md); `message` is for
    the participant and names the file or CSV line concerned.
    """

    case: str | None
    code: str
    message: str

    def __post_init__(self) -> None:
        # Case ids and messages carry the participant's own file names, which may hold bytes
        # that are not UTF-8 (from a tar) or NUL: made printable here, once, so no report
        # can fail to print or to be stored (see evaluator.io.names).
        if self.case is not None:
            object.__setattr__(self, "case", printable(self.case))
        object.__setattr__(self, "message", printable(self.message))

    @property
    def is_error(self) -> bool:
        """False for warnings (e.g. a README in the archive), which do not block scoring."""
        return self.code not in WARNING_CODES

    def to_dict(self) -> dict[str, object]:
        return {
            "case": self.case,
            "code": self.code,
            "message": self.message,
            "severity": "error" if self.is_error else "warning",
        }
