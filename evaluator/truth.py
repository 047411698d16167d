"""Truth sets: the hidden reference labels of a challenge phase, as a folder on disk.

Layout (see docs/formats.md): `cases.csv` with `case,site,spacing_row_mm,spacing_col_mm` plus
optional extra columns (e.g. `hc_mm`), `labels/<case>.<ext>` and optionally
`images/<case>.<ext>`. Loading checks everything at once and reports every defect in one
`TruthSetError`, because organisers fix a truth set in one go rather than error by error.
`read_cases_csv` is the one reader of cases.csv, for this loader, classification truth
(`evaluator.scorers.classification`) and the platform's truth loading alike.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluator.io.masks import SUPPORTED_SUFFIXES, write_image, write_label_map

REQUIRED_COLUMNS = ("case", "site", "spacing_row_mm", "spacing_col_mm")
IMAGE_SUFFIXES = (*SUPPORTED_SUFFIXES, ".jpg", ".jpeg")
_MAX_LISTED = 50


@dataclass(frozen=True)
class TruthCase:
    """One reference case: where its label lives, its site and its pixel spacing in mm."""

    case: str
    site: str
    spacing: tuple[float, float]  # (row_mm, col_mm)
    label_path: Path
    image_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


class TruthSetError(ValueError):
    """A truth set that cannot be used; the message lists every problem found."""

    def __init__(self, root: Path, problems: list[str]) -> None:
        self.root = Path(root)
        self.problems = list(problems)
        shown = problems[:_MAX_LISTED]
        more = len(problems) - len(shown)
        lines = [f"truth set {root} has {len(problems)} problem(s):"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class CasesRow:
    """One row of cases.csv: its line number (the header is line 1), its values by column
    (names and values stripped; a column the row leaves out is ""), and whether it held more
    values than the header has columns."""

    number: int
    values: dict[str, str]
    overlong: bool = False


def read_cases_csv(root: Path, *, required: Sequence[str] = REQUIRED_COLUMNS) -> list[CasesRow]:
    """The rows of `root/cases.csv`: the one reader of that file for every kind of truth set
    (`TruthSet.load`, classification truth, the platform's truth loading). A BOM and CRLF
    line ends are accepted. A missing or unreadable file, or a header without one of the
    `required` columns, is a TruthSetError; what the rows hold is the caller's to check."""
    root = Path(root)
    path = root / "cases.csv"
    if not path.is_file():
        raise TruthSetError(root, ["cases.csv is missing"])
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            raw_rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TruthSetError(root, [f"cases.csv cannot be read: {exc}"]) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise TruthSetError(
            root,
            [f"cases.csv lacks column(s) {', '.join(missing)}; required: {','.join(required)}"],
        )
    return [
        CasesRow(
            number,
            {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None},
            None in raw,
        )
        for number, raw in enumerate(raw_rows, start=2)
    ]


@dataclass
class TruthSet:
    """A validated truth set; cases keep the order of cases.csv."""

    root: Path
    cases: list[TruthCase]

    @classmethod
    def load(cls, root: Path) -> TruthSet:
        """Read and validate `root/cases.csv` and the files it names."""
        root = Path(root)
        rows = read_cases_csv(root)
        label_index = _index_folder(root / "labels", SUPPORTED_SUFFIXES)
        image_index = _index_folder(root / "images", IMAGE_SUFFIXES)
        problems: list[str] = []
        cases: list[TruthCase] = []
        seen: set[str] = set()
        for line in rows:
            line_no, row = line.number, line.values
            if line.overlong:
                problems.append(f"cases.csv line {line_no}: more values than columns")
                continue
            case, site = row.get("case", ""), row.get("site", "")
            where = f"cases.csv line {line_no}" + (f" (case {case})" if case else "")
            if not case:
                problems.append(f"{where}: empty case id")
                continue
            if "/" in case or "\\" in case or case.startswith("."):
                problems.append(f"{where}: case id {case!r} must be a plain file stem")
                continue
            if case in seen:
                problems.append(f"{where}: duplicate case {case!r}")
                continue
            seen.add(case)
            if not site:
                problems.append(f"{where}: empty site")
            spacing = []
            for col in ("spacing_row_mm", "spacing_col_mm"):
                try:
                    value = float(row.get(col, ""))
                except ValueError:
                    problems.append(f"{where}: {col} {row.get(col)!r} is not a number")
                    continue
                if not (math.isfinite(value) and value > 0):
                    problems.append(f"{where}: {col} must be a positive number, got {value:g}")
                    continue
                spacing.append(value)
            labels = label_index.get(case, [])
            if not labels:
                problems.append(
                    f"{where}: no label file labels/{case}{{{','.join(SUPPORTED_SUFFIXES)}}}"
                )
            elif len(labels) > 1:
                problems.append(
                    f"{where}: several label files: {', '.join(p.name for p in labels)}"
                )
            images = image_index.get(case, [])
            if len(images) > 1:
                problems.append(
                    f"{where}: several image files: {', '.join(p.name for p in images)}"
                )
            if len(spacing) != 2 or len(labels) != 1 or len(images) > 1 or not site:
                continue
            extra = {k: v for k, v in row.items() if k not in REQUIRED_COLUMNS}
            cases.append(
                TruthCase(
                    case=case,
                    site=site,
                    spacing=(spacing[0], spacing[1]),
                    label_path=labels[0],
                    image_path=images[0] if images else None,
                    extra=extra,
                )
            )
        if not rows:
            problems.append("cases.csv lists no cases")
        unlisted = sorted(set(label_index) - seen)
        if unlisted:
            problems.append(
                f"labels/ has {len(unlisted)} file(s) not listed in cases.csv, e.g. "
                + ", ".join(unlisted[:5])
            )
        if problems:
            raise TruthSetError(root, problems)
        return cls(root=root, cases=cases)

    def sites(self) -> list[str]:
        """Distinct sites in first-appearance order (leaderboards list them in this order)."""
        return list(dict.fromkeys(c.site for c in self.cases))

    def by_case(self) -> dict[str, TruthCase]:
        """Cases keyed by case id."""
        return {c.case: c for c in self.cases}

    def __len__(self) -> int:
        return len(self.cases)


def _index_folder(folder: Path, suffixes: tuple[str, ...]) -> dict[str, list[Path]]:
    """Map case id -> files in `folder` with one of `suffixes` (one directory listing).

    Every scoring run loads the truth set, so this uses `os.scandir`, whose entries know
    their type without a `stat` per file, and sorts names rather than Path objects.
    """
    index: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return index
    with os.scandir(folder) as listing:
        names = sorted(e.name for e in listing if not e.name.startswith(".") and e.is_file())
    for name in names:
        lower = name.lower()
        for suffix in suffixes:
            if lower.endswith(suffix) and len(lower) > len(suffix):
                index.setdefault(name[: -len(suffix)], []).append(folder / name)
                break
    return index


#: The parts of a truth set that decide a score: their content makes its version.
VERSIONED_FOLDERS = ("labels", "images")


def truth_version(root: Path) -> str:
    """Content hash (SHA-256 hex) of the whole truth set: cases.csv and every label and image.

    A hash of cases.csv alone kept its value when a label was corrected, so scores computed
    against the old label looked current. Each file (those `TruthSet.load` reads: not hidden
    ones) contributes its path relative to `root` and the SHA-256 of its bytes, in sorted
    path order, so the version depends on content and names only, never on timestamps,
    listing order or the folder's location. A missing folder (no images) contributes nothing.
    """
    root = Path(root)
    files = [root / "cases.csv"] if (root / "cases.csv").is_file() else []
    for name in VERSIONED_FOLDERS:
        folder = root / name
        if folder.is_dir():
            with os.scandir(folder) as listing:
                files += [
                    folder / e.name for e in listing if not e.name.startswith(".") and e.is_file()
                ]
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        content = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{path.relative_to(root).as_posix()}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()


def write_truth_set(
    out: Path,
    cases: Iterable[tuple[str, str, tuple[float, float], np.ndarray, Mapping[str, object]]],
    images: Mapping[str, np.ndarray | Path] | None = None,
    label_suffix: str = ".png",
) -> TruthSet:
    """Write a truth set folder from (case, site, spacing, label, extra) tuples and load it.

    `images` maps case -> array (written as PNG) or an existing file (copied, keeping its
    suffix). Loading the result back validates what was written.
    """
    out = Path(out)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    extra_cols: list[str] = []
    for case, site, spacing, label, extra in cases:
        write_label_map(out / "labels" / f"{case}{label_suffix}", label, spacing=spacing)
        row: dict[str, object] = {
            "case": case,
            "site": site,
            "spacing_row_mm": repr(float(spacing[0])),
            "spacing_col_mm": repr(float(spacing[1])),
        }
        for key, value in (extra or {}).items():
            if key not in extra_cols:
                extra_cols.append(key)
            row[key] = value
        rows.append(row)
    for case, image in (images or {}).items():
        (out / "images").mkdir(exist_ok=True)
        if isinstance(image, (str, Path)):
            src = Path(image)
            suffix = next(
                (s for s in IMAGE_SUFFIXES if src.name.lower().endswith(s)), src.suffix.lower()
            )
            shutil.copyfile(src, out / "images" / f"{case}{suffix}")
        else:
            write_image(out / "images" / f"{case}.png", np.asarray(image))
    write_cases_csv(out / "cases.csv", rows, extra_cols)
    return TruthSet.load(out)


def write_cases_csv(path: Path, rows: list[dict[str, object]], extra_cols: list[str]) -> None:
    """Write cases.csv with the required columns first, then extras in first-seen order."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*REQUIRED_COLUMNS, *extra_cols], restval="")
        writer.writeheader()
        writer.writerows(rows)
