"""Validating a submission folder against a truth set, reporting every problem at once.

A participant who uploads 400 masks wants one report listing the three misnamed files, the
RGB one and the wrong-sized one, not a failure at the first of them. So discovery and decoding
collect `Problem`s per case instead of raising, and only the clean cases end up in
`ValidationReport.files`, ready for scoring. Error codes are documented in docs/formats.md.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluator.geometry.ellipse import Ellipse, rasterize_ellipse
from evaluator.io.archives import sniff_format
from evaluator.io.hc18_csv import csv_header, read_ellipse_csv, utf8_problem
from evaluator.io.masks import (
    SUPPORTED_SUFFIXES,
    MaskReadError,
    case_id_from_path,
    read_label_map,
    read_label_shape,
)
from evaluator.io.names import printable
from evaluator.io.problems import WARNING_CODES, Problem
from evaluator.suggest import CaseSuggester
from evaluator.truth import TruthCase, TruthSet

__all__ = [
    "Problem",
    "PredictionError",
    "ValidationReport",
    "WARNING_CODES",
    "discover_predictions",
    "load_prediction",
    "prediction_ellipse",
    "validate_predictions",
]

# Operating-system litter that is skipped without a word.
_JUNK_NAMES = frozenset({"thumbs.db", "desktop.ini", "__macosx"})
# Formats people plausibly submit by mistake: reported as errors when named like a case.
_WRONG_FORMATS = (
    ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".npy", ".npz", ".nrrd", ".nhdr",
    ".dcm", ".mhd", ".raw", ".hdr", ".img",
)  # fmt: skip
# Formats whose header keeps the pixels in another file: never read (a header may name any
# file on the server; see evaluator/io/metaimage.py), so say what to save instead.
_PAIR_ADVICE = {
    ".mhd": "MetaImage header/data pairs (.mhd + .raw) are not accepted; save each mask as "
    "one .mha file",
    ".raw": "MetaImage header/data pairs (.mhd + .raw) are not accepted; save each mask as "
    "one .mha file",
    ".hdr": "NIfTI/Analyze pairs (.hdr + .img) are not accepted; save each mask as one .nii "
    "or .nii.gz file",
    ".img": "NIfTI/Analyze pairs (.hdr + .img) are not accepted; save each mask as one .nii "
    "or .nii.gz file",
    ".nhdr": "detached NRRD headers are not accepted",
}
# Archives inside a submission are not unpacked (one level only, and never a bomb's nest).
_ARCHIVE_SUFFIXES = (
    ".zip",
    ".tar",
    ".tgz",
    ".tar.gz",
    ".gz",
    ".tbz2",
    ".bz2",
    ".txz",
    ".xz",
    ".7z",
    ".rar",
)


class PredictionError(ValueError):
    """One prediction that cannot be scored; `problem` says which case and why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class ValidationReport:
    """All problems of a submission, and the prediction file of every usable case."""

    problems: list[Problem]
    files: dict[str, Path]  # case -> prediction file (a mask, or the ellipse CSV)
    root: Path | None = field(default=None)

    @property
    def ok(self) -> bool:
        """True when nothing blocks scoring (warnings such as ignored files are allowed)."""
        return not any(p.is_error for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form for the API and the CLI; paths relative to the submission."""
        return {
            "ok": self.ok,
            "n_files": len(self.files),
            "n_errors": len(self.errors),
            "n_warnings": len(self.problems) - len(self.errors),
            "problems": [p.to_dict() for p in self.problems],
            "files": {case: self._relative(path) for case, path in self.files.items()},
        }

    def format_text(self, limit: int = 200) -> str:
        """Human-readable summary, one problem per line."""
        head = "OK" if self.ok else f"{len(self.errors)} error(s)"
        lines = [f"{head}: {len(self.files)} usable prediction(s)"]
        for p in self.problems[:limit]:
            tag = "error" if p.is_error else "warning"
            lines.append(f"  [{tag}] {p.case or '-'} {p.code}: {p.message}")
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)

    def _relative(self, path: Path) -> str:
        if self.root is not None:
            try:
                return printable(Path(path).relative_to(self.root).as_posix())
            except ValueError:
                pass
        return printable(str(path))


# --------------------------------------------------------------------------- discovery


def _walk_files(
    folder: Path, prefix: str = "", hidden: list[str] | None = None
) -> Iterator[tuple[Path, str, bool]]:
    """(path, path relative to the submission, is a symlink) of every file under `folder` at
    any depth, skipping hidden entries and __MACOSX folders (listed in `hidden` when given);
    symlinked folders are not entered. Sorted, a folder's files before its subfolders'.

    `os.scandir` entries know their type, so a submission of hundreds of files costs one
    listing per folder rather than a `stat` per file.
    """
    files: list[tuple[str, bool]] = []
    folders: list[str] = []
    with os.scandir(folder) as listing:
        for entry in listing:
            name = entry.name
            if name.startswith(".") or name.lower() in _JUNK_NAMES:
                if hidden is not None:
                    hidden.append(prefix + name)
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                files.append((name, entry.is_symlink()))
            elif not entry.is_symlink():
                folders.append(name)
    for name, is_link in sorted(files):
        yield folder / name, prefix + name, is_link
    for name in sorted(folders):
        yield from _walk_files(folder / name, f"{prefix}{name}/", hidden)


def discover_predictions(
    folder: Path, truth: TruthSet, *, source: str | None = None
) -> tuple[dict[str, Path], list[Problem]]:
    """Map every truth case to its prediction file, reporting extra, duplicate and missing.

    Files may sit at any depth (archives often wrap everything in a folder). Cases listed
    in an HC18 ellipse CSV map to that CSV. A case submitted twice (two folders, or a mask and
    a CSV row) is an error and gets no file: scoring either copy would be a guess.
    `source` names the uploaded archive the folder was unpacked from, for messages.

    When nothing usable is found the report says why, naming the user's own files: an
    archive inside the archive, misnamed files (each with its likely case), an unreadable
    CSV, or no mask files at all (with what was found instead).
    """
    folder = Path(folder)
    cases = truth.by_case()
    lower = {c.lower(): c for c in cases}
    if len(lower) != len(cases):  # ambiguous under case folding: match exactly only
        lower = {}
    suggest = CaseSuggester(cases)
    candidates: dict[str, list[tuple[Path, str]]] = {}
    problems: list[Problem] = []
    # Cases already reported for another reason (a .jpg, a bad CSV row): no missing_case too.
    reported: set[str] = set()
    meant_for: dict[str, str] = {}  # case -> a misnamed file that looks meant for it
    ignored: list[str] = []  # files that are not label maps, for the "nothing found" message
    archives: list[str] = []  # archives inside the submission
    hidden: list[str] = []

    def match(stem: str) -> str | None:
        return stem if stem in cases else lower.get(stem.lower())

    def misnamed(stem: str, relative: str, what: str) -> None:
        guess = suggest(stem)
        hint = ""
        if guess is not None:
            meant_for.setdefault(guess, relative)
            hint = f" (did you mean {guess}? name files exactly <case>.<ext>)"
        problems.append(Problem(stem, "extra_file", f"{relative}: {what}{hint}"))

    for path, relative, is_link in _walk_files(folder, hidden=hidden):
        if is_link:
            problems.append(Problem(None, "ignored_file", f"{relative}: symbolic link ignored"))
            ignored.append(relative)
            continue
        stem = case_id_from_path(path)
        if stem is not None:
            case = match(stem)
            if case is None:
                misnamed(stem, relative, f"no case {stem!r} in this phase's truth set")
            else:
                candidates.setdefault(case, []).append((path, relative))
            continue
        if path.name.lower().endswith(".csv"):
            header = csv_header(path)
            if header is None:
                encoding = utf8_problem(path, relative)
                if encoding is not None:  # an ellipse CSV saved in another encoding
                    problems.append(encoding)
                    continue
            if header and "filename" in header:
                ellipses, csv_problems = read_ellipse_csv(path, relative)
                problems.extend(csv_problems)
                for stem in ellipses:
                    case = match(stem)
                    if case is None:
                        misnamed(stem, relative, f"row {stem!r} names no case of the truth set")
                    else:
                        candidates.setdefault(case, []).append((path, f"{relative} (row {stem})"))
                for p in csv_problems:
                    case = match(p.case) if p.case else None
                    if case is not None:
                        reported.add(case)
                continue
            problems.append(
                Problem(
                    None, "ignored_file", f"{relative}: CSV without a 'filename' column ignored"
                )
            )
            ignored.append(relative)
            continue
        stem_any = path.name.split(".", 1)[0]
        case = (
            match(stem_any) if any(path.name.lower().endswith(s) for s in _WRONG_FORMATS) else None
        )
        if case is not None:
            reported.add(case)
            advice = _PAIR_ADVICE.get(Path(path.name.lower()).suffix)
            problems.append(
                Problem(
                    case,
                    "unsupported_format",
                    f"{relative}: unsupported format; "
                    + (f"{advice}; " if advice else "")
                    + f"save label maps as {', '.join(SUPPORTED_SUFFIXES)}",
                )
            )
        elif _is_archive(path):
            archives.append(relative)
        else:
            problems.append(Problem(None, "ignored_file", f"{relative}: not a label map, ignored"))
            ignored.append(relative)

    files: dict[str, Path] = {}
    for case, found in candidates.items():
        if len(found) == 1:
            files[case] = found[0][0]
        else:
            listed = ", ".join(r for _, r in found)
            problems.append(
                Problem(
                    case, "duplicate_case", f"case {case} is submitted {len(found)} times: {listed}"
                )
            )
    missing = [case for case in cases if case not in candidates and case not in reported]
    where = source or "the submission"
    for relative in archives:
        if missing:
            problems.append(
                Problem(
                    None,
                    "nested_archive",
                    f"{where} contains another archive ({relative}); upload one archive with "
                    "the masks at its top level or in one folder",
                )
            )
        else:
            problems.append(
                Problem(None, "ignored_file", f"{relative}: an archive inside {where}, ignored")
            )
    if not candidates and not any(p.is_error for p in problems):
        problems.insert(0, _nothing_found(where, ignored, hidden, truth))
    for case in missing:
        seen = meant_for.get(case)
        hint = f" ({seen} looks meant for it)" if seen else ""
        problems.append(Problem(case, "missing_case", f"no prediction for case {case}{hint}"))
    return files, problems


def _is_archive(path: Path) -> bool:
    """A zip, tar, compressed or other archive, by its name or its first bytes."""
    name = path.name.lower()
    return name.endswith(_ARCHIVE_SUFFIXES) or sniff_format(path) is not None


def _nothing_found(where: str, ignored: list[str], hidden: list[str], truth: TruthSet) -> Problem:
    """`empty_submission`, saying what was there instead of label maps."""
    example = f"{truth.cases[0].case}.png" if truth.cases else "<case>.png"
    expected = f"expected files like {example} (<case>{{{','.join(SUPPORTED_SUFFIXES)}}})"
    if ignored:
        shown = ", ".join(ignored[:5]) + (
            f", ... ({len(ignored)} files)" if len(ignored) > 5 else ""
        )
        message = f"{where} holds no mask files (found: {shown}); {expected}"
    elif hidden:
        shown = ", ".join(sorted(hidden)[:5]) + (", ..." if len(hidden) > 5 else "")
        message = f"{where} holds only hidden or system files ({shown}); {expected}"
    else:
        message = f"{where} is empty; {expected}"
    return Problem(None, "empty_submission", message)


# --------------------------------------------------------------------------- decoding


@functools.lru_cache(maxsize=8)
def _ellipses(path_str: str, _mtime_ns: int, _size: int) -> dict[str, Ellipse]:
    return read_ellipse_csv(Path(path_str))[0]


def prediction_ellipse(path: Path, case: str) -> Ellipse | None:
    """The ellipse an HC18 result CSV gives for `case` (mm), or None when `path` is no CSV
    or has no valid row for it.

    Scoring takes the head circumference of an ellipse-CSV prediction from this ellipse's
    own semi-axes, as HC18 did, rather than from its raster, which the image border clips.
    """
    path = Path(path)
    if not path.name.lower().endswith(".csv"):
        return None
    st = path.stat()
    return _ellipses(str(path.resolve()), st.st_mtime_ns, st.st_size).get(case)


def _ellipse_mask(
    path: Path, case: TruthCase, binary: bool, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Rasterise the case's ellipse from an HC18 CSV on the truth label's grid."""
    if not binary:
        raise PredictionError(
            Problem(
                case.case,
                "unsupported_format",
                f"{path.name}: ellipse CSVs are accepted for binary (head) tasks only",
            )
        )
    st = path.stat()
    ellipse = _ellipses(str(path.resolve()), st.st_mtime_ns, st.st_size).get(case.case)
    if ellipse is None:
        raise PredictionError(
            Problem(case.case, "missing_case", f"{path.name} has no valid row for {case.case}")
        )
    shape = _truth_shape(case) if shape is None else shape
    return rasterize_ellipse(ellipse, shape, case.spacing).astype(np.uint8)


def _truth_shape(case: TruthCase) -> tuple[int, int]:
    try:
        return read_label_shape(case.label_path)
    except (MaskReadError, OSError) as exc:  # a broken truth set is the organiser's problem
        raise RuntimeError(f"truth label {case.label_path} is unreadable: {exc}") from exc


def _present_values(array: np.ndarray) -> list[int]:
    """Every label value that occurs (a full count: only for messages and unusual labels)."""
    if array.size == 0:
        return []
    if array.dtype == np.uint8:
        counts = np.bincount(array.ravel(), minlength=256)
        return [int(v) for v in np.flatnonzero(counts)]
    return [int(v) for v in np.unique(array)]


def _value_range(array: np.ndarray) -> tuple[int, int]:
    """(min, max) of the label values; (0, 0) for an empty array."""
    if array.size == 0:
        return 0, 0
    return int(array.min()), int(array.max())


def _range_allowed(lo: int, hi: int, allowed: set[int]) -> bool:
    """True when every integer in [lo, hi] is allowed, so the values need no histogram.

    This is the scoring hot path: min and max of a mask are ~100x cheaper than counting
    every value, and for the usual label maps (classes 0..k) they settle the check alone.
    """
    return hi - lo < len(allowed) and all(v in allowed for v in range(lo, hi + 1))


def _fmt(values) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:10])
    return "{" + shown + (", ..." if len(values) > 10 else "") + "}"


def load_prediction(
    path: Path,
    case: TruthCase,
    class_values: Sequence[int],
    binary: bool,
    expected_shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Decode one prediction and check it against its truth case; raise PredictionError.

    Binary tasks accept {0,1} or {0,255} (the usual PNG convention) and return {0,1};
    multi-class tasks accept exactly the task's class values. The shape must equal the truth
    label's: `expected_shape` when the caller has decoded that label already (scoring does),
    else read from the label's header only (validation alone needs no truth pixels).
    """
    path = Path(path)
    if path.name.lower().endswith(".csv"):
        return _ellipse_mask(path, case, binary, expected_shape)
    try:
        array = read_label_map(path)
    except MaskReadError as exc:
        raise PredictionError(Problem(case.case, exc.code, _about(path.name, str(exc)))) from None
    except OSError as exc:
        raise PredictionError(
            Problem(case.case, "unreadable", f"{path.name}: cannot read the file ({exc.strerror})")
        ) from None
    expected = _truth_shape(case) if expected_shape is None else tuple(expected_shape)
    if array.shape != expected:
        hint = " (rows and columns swapped?)" if array.shape == expected[::-1] else ""
        raise PredictionError(
            Problem(
                case.case,
                "wrong_shape",
                f"{path.name}: {array.shape[0]}x{array.shape[1]} (rows x cols) but the image "
                f"is {expected[0]}x{expected[1]}{hint}",
            )
        )
    lo, hi = _value_range(array)
    if binary:
        if lo >= 0 and hi <= 1:
            return array.astype(np.uint8, copy=False)
        if lo in (0, 255) and hi in (0, 255):
            foreground = array == 255
            if np.count_nonzero(foreground) + np.count_nonzero(array == 0) == array.size:
                return foreground.view(np.uint8)
        raise PredictionError(
            Problem(
                case.case,
                "wrong_values",
                f"{path.name}: values {_fmt(_present_values(array))}; a binary mask must use "
                "{0, 1} or {0, 255}",
            )
        )
    allowed = {int(v) for v in class_values}
    if not _range_allowed(lo, hi, allowed):
        unexpected = sorted(set(_present_values(array)) - allowed)
        if unexpected:
            raise PredictionError(
                Problem(
                    case.case,
                    "wrong_values",
                    f"{path.name}: unexpected value(s) {_fmt(unexpected)}; this task's classes "
                    f"are {_fmt(sorted(allowed))}",
                )
            )
    if array.dtype != np.uint8 and max(allowed, default=0) <= 255 and min(allowed, default=0) >= 0:
        array = array.astype(np.uint8)
    return array


def validate_predictions(
    folder: Path,
    truth: TruthSet,
    class_values: Sequence[int],
    binary: bool,
    *,
    source: str | None = None,
) -> ValidationReport:
    """Discover and decode every prediction; report all problems, keep the usable cases.

    `source`: the uploaded archive's name when `folder` holds its unpacked contents.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return ValidationReport(
            [Problem(None, "not_a_folder", f"{folder.name}: the submission is not a folder")],
            {},
            folder,
        )
    files, problems = discover_predictions(folder, truth, source=source)
    by_case = truth.by_case()
    usable: dict[str, Path] = {}
    for case, path in files.items():
        try:
            load_prediction(path, by_case[case], class_values, binary)
        except PredictionError as exc:
            problems.append(exc.problem)
        else:
            usable[case] = path
    order = {c.case: i for i, c in enumerate(truth.cases)}

    def key(p: Problem) -> tuple[int, int]:
        if p.case is None:  # the whole submission's errors first: they explain the rest
            return (0, 0 if p.is_error else 1)
        return (1, order.get(p.case, len(order)))

    problems.sort(key=key)
    ordered = {c.case: usable[c.case] for c in truth.cases if c.case in usable}
    return ValidationReport(problems, ordered, folder)


def _about(name: str, message: str) -> str:
    """`name: message`, without saying the name twice when the reader's message already
    starts with it ("a.mha: a.mha: its pixels ..." read badly)."""
    if message.startswith(f"{name}: ") or message.startswith(f"{name} "):
        return message
    return f"{name}: {message}"
