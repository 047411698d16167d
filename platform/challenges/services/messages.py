"""Text that leaves the worker for a participant: made readable, private and storable.

Everything a participant reads about their submission (`status_detail`, the inference
summary's message and log tail) passes through `participant_text`, because that text mixes
what the participant wrote (archive member names, a container's log) with what the server
knows (its folders). Issue 9 found three ways this went wrong:

* **Not storable.** PostgreSQL `text` and `jsonb` refuse NUL, and a lone surrogate (how
  Python carries a file-name byte that is not UTF-8) cannot be encoded at all; writing such a
  message raised, and the submission sat in "scoring" until the watchdog gave up. Both are
  written as visible escapes (`\\x00`, `\\xff`) instead.
* **Server paths.** Messages named `/dev/shm/...` unpack folders, the upload and truth roots
  and onnxruntime's source files. Folders are removed; the participant's own part of a path
  (the member inside their archive) is kept.
* **Terminal codes.** A container's log may carry ANSI colour codes: they are removed, as is
  every other control character except newline and tab.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from django.conf import settings

from evaluator.io.names import printable as escape_unprintable

#: Longest message we store: a page can show it, and a hostile one cannot fill the database.
MAX_CHARS = 20_000

# ECMA-48 control sequences (CSI ... final byte, OSC ... BEL/ST) and lone ESC pairs.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
# Build-tree paths in onnxruntime's own errors ("/onnxruntime_src/onnxruntime/core/...:123").
_BUILD_PATHS = re.compile(r"/(?:onnxruntime_src|__w|home/runner|opt/conda)/\S*")
# Unpack folders of the evaluator (evaluator/io/scratch.py) wherever their root was.
_UNPACK = re.compile(r"/\S*?fetalbench-unpack-[^/\s]*/")


def server_roots() -> list[str]:
    """Folders whose names are the server's business, longest first (so a root inside
    another is removed whole). Not `/tmp` as such: a container's log speaks of its own /tmp;
    the evaluator's unpack folders are found by name wherever they are (`_UNPACK`)."""
    roots = {
        str(settings.TRUTH_ROOT),
        str(settings.MEDIA_ROOT),
        str(getattr(settings, "INFERENCE_SCRATCH", "")),
        str(getattr(settings, "VAR_DIR", "")),
        str(Path(settings.ROOT_DIR)) if hasattr(settings, "ROOT_DIR") else "",
        sys.prefix,
    }
    return sorted((r.rstrip("/") for r in roots if r and r not in ("/", ".")), key=len, reverse=True)


def redact(text: str) -> str:
    """Remove server folders from `text`, keeping the participant's part of each path.

    `<root>/submission-7-x1y2/output/001_HC.png` reads `output/001_HC.png`; a path that is
    all server (a truth label) reads as its file name only.
    """
    text = _UNPACK.sub("", text)
    for root in server_roots():
        if root in text:
            # Whole path components only: "/tmp" is not inside "/var/tmp" or "/tmpfoo".
            pattern = (
                r"(?<![\w./~-])" + re.escape(root) + r"(?![^/\s'\"():,])(?:/[^\s'\"():,]*)?"
            )
            text = re.sub(pattern, _tail_of, text)
    return _BUILD_PATHS.sub("<library source>", text)


def _tail_of(match: re.Match) -> str:
    """The meaningful end of a server path: after a per-run folder, or just the file name."""
    parts = [p for p in match.group(0).split("/") if p]
    for marker in ("output", "input", "predictions", "model"):
        if marker in parts[:-1]:
            return "/".join(parts[parts.index(marker) :])
    return parts[-1] if parts and "." in parts[-1] else "<server>"


def storable(text: str) -> str:
    """`text` with what PostgreSQL cannot store (NUL, lone surrogates) written as escapes:
    the evaluator's rule for file names (`evaluator.io.names.printable`), one rule for both."""
    return escape_unprintable(text)


#: Bidirectional overrides and isolates (Unicode TR 9): in a file name they make a message
#: display in another order than it reads ("Trojan Source", CVE-2021-42574).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """Without terminal escape codes, control characters (newline and tab stay) and
    bidirectional overrides (shown as escapes)."""
    text = _ANSI.sub("", text)
    return "".join(
        ch
        if ch in "\n\t" or not (ord(ch) < 32 or ord(ch) == 127 or ch in _BIDI)
        else _escape(ch)
        for ch in text
    )


def _escape(ch: str) -> str:
    if ch in "\r\x1b":
        return ""
    return f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}"


def participant_text(
    text: object, *, stored_name: str | None = None, original_name: str | None = None
) -> str:
    """What a participant may read of `text`: no server folder, no terminal codes, nothing
    the database refuses, at most MAX_CHARS; the server's name for their upload replaced by
    the name they uploaded it under."""
    text = str(text)
    if stored_name and original_name and stored_name != original_name:
        text = text.replace(stored_name, original_name)
    text = storable(printable(redact(text)))
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 40] + f"\n... ({len(text) - MAX_CHARS + 40} more characters)"
    return text


def upload_names(file_name: str, original_filename: str) -> dict[str, str]:
    """Keyword arguments for `participant_text` for a submission's upload."""
    return {"stored_name": os.path.basename(file_name or ""), "original_name": original_filename}


# ------------------------------------------------------------------ what a failure says

#: Why a submission failed before scoring began; it is rerun once a truth set is loaded
#: (`challenges.services.truth`, which finds it by `Submission.FailureCode.NO_TRUTH`).
NO_TRUTH_DETAIL = (
    "The organisers have not loaded the test set for this phase yet; "
    "the submission will be rerun once they do."
)
MAX_PROBLEMS_SHOWN = 50


def describe_invalid(exc: Exception) -> str:
    """All validation problems, one a line (the first MAX_PROBLEMS_SHOWN), for participants."""
    report = getattr(exc, "report", None)
    problems = [p for p in getattr(report, "problems", None) or [] if getattr(p, "is_error", True)]
    if not problems:
        return redact(f"The submission is invalid: {exc}")
    lines = [f"The submission is invalid ({len(problems)} problem(s)):"]
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        case = getattr(problem, "case", None)
        code = getattr(problem, "code", "")
        message = getattr(problem, "message", str(problem))
        where = f"{case}: " if case else ""
        # One line per problem, whatever the names in it hold: a member name with newlines
        # must not forge lines of the report ("- all cases are fine [ok]").
        line = f"- {where}{message}".replace("\r", "\\r").replace("\n", "\\n")
        lines.append(line + (f" [{code}]" if code else ""))
    if len(problems) > MAX_PROBLEMS_SHOWN:
        lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more.")
    return redact("\n".join(lines))
