"""Errors that more than one part of the evaluator raises or catches.

`InvalidSubmission` is the participant's fault (every problem listed in its report) and
`TruthError` the organiser's. Every scorer raises them and every caller (the CLI, the
platform's scoring service) catches them, so they live here rather than in any one scorer:
a scorer never needs to import another scorer, or the public API, for its errors.

Errors that belong to one room stay there: `evaluator.tasks.TaskError`,
`evaluator.truth.TruthSetError`, `evaluator.io.archives.ArchiveError`.

May import: `evaluator.validation` (for the report type) and nothing above it.
"""

from __future__ import annotations

from evaluator.validation import ValidationReport


class InvalidSubmission(Exception):
    """The submission cannot be scored; `report` lists every problem found."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.format_text())


class TruthError(RuntimeError):
    """The organiser's truth set is broken (not the participant's fault)."""


__all__ = ["InvalidSubmission", "TruthError"]
