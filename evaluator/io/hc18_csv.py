"""The HC18 challenge's ellipse-CSV submission format.

HC18 participants submitted one ellipse per image rather than masks:
`filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad` (filename like
`000_HC.png`). Accepting that file lets old HC18 submissions be scored unchanged: each ellipse
is rasterised on its truth case's grid by the validation layer.

Conventions: x is the column, y the row, both in mm from the centre of the top-left pixel;
`angle_rad` is the angle of semi-axis a, measured from the x axis towards y (image rows grow
downwards). This is the convention of `evaluator.geometry.ellipse`.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from evaluator.geometry.ellipse import Ellipse
from evaluator.io.masks import case_id_from_path
from evaluator.io.problems import Problem

ELLIPSE_COLUMNS = (
    "filename",
    "center_x_mm",
    "center_y_mm",
    "semi_axes_a_mm",
    "semi_axes_b_mm",
    "angle_rad",
)


def csv_header(path: Path) -> list[str] | None:
    """The header fields of a CSV file, or None when it cannot be read as text."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            first = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [h.strip().lower() for h in first] if first else []


def is_ellipse_csv(path: Path) -> bool:
    """True when the file's header names a `filename` column (the HC18 layout's key)."""
    header = csv_header(path)
    return bool(header) and "filename" in header


def read_ellipse_csv(path: Path) -> tuple[dict[str, Ellipse], list[Problem]]:
    """Ellipses keyed by case id (filename stem), plus every problem found in the file."""
    path = Path(path)
    name = path.name
    problems: list[Problem] = []
    ellipses: dict[str, Ellipse] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in ELLIPSE_COLUMNS if c not in header]
            if missing:
                problems.append(
                    Problem(
                        None,
                        "bad_csv",
                        f"{name}: missing column(s) {', '.join(missing)}; the HC18 ellipse "
                        f"CSV needs {','.join(ELLIPSE_COLUMNS)}",
                    )
                )
                return ellipses, problems
            index = {col: header.index(col) for col in ELLIPSE_COLUMNS}
            for line_no, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                _parse_row(name, line_no, row, index, ellipses, problems)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(None, "unreadable", f"{name}: cannot read the CSV ({exc})"))
    return ellipses, problems


def _parse_row(
    name: str,
    line_no: int,
    row: list[str],
    index: dict[str, int],
    ellipses: dict[str, Ellipse],
    problems: list[Problem],
) -> None:
    where = f"{name} line {line_no}"
    if len(row) < len(index) or max(index.values()) >= len(row):
        problems.append(Problem(None, "bad_csv_row", f"{where}: too few values"))
        return
    filename = row[index["filename"]].strip()
    case = case_id_from_path(Path(filename)) or Path(filename).stem
    if not case:
        problems.append(Problem(None, "bad_csv_row", f"{where}: empty filename"))
        return
    values = []
    for col in ELLIPSE_COLUMNS[1:]:
        text = row[index[col]].strip()
        try:
            value = float(text)
        except ValueError:
            problems.append(
                Problem(case, "bad_csv_row", f"{where}: {col} {text!r} is not a number")
            )
            return
        if not math.isfinite(value):
            problems.append(Problem(case, "bad_csv_row", f"{where}: {col} is not finite"))
            return
        values.append(value)
    cx, cy, a, b, angle = values
    if a <= 0 or b <= 0:
        problems.append(
            Problem(case, "bad_csv_row", f"{where}: semi-axes must be positive, got {a:g}, {b:g}")
        )
        return
    if case in ellipses:
        problems.append(
            Problem(case, "duplicate_case", f"{where}: {filename} appears more than once")
        )
        return
    if b > a:  # keep the Ellipse invariant a >= b
        a, b, angle = b, a, angle + math.pi / 2
    ellipses[case] = Ellipse(cx, cy, a, b, angle)
