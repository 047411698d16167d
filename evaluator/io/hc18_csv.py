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

import codecs
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


#: Bytes read to find a CSV's header line.
_HEAD_BYTES = 64 * 1024


def csv_header(path: Path) -> list[str] | None:
    """The header fields of a CSV file, or None when its first line is not UTF-8 text.

    Only the first line is decoded: a bad byte further down is reported by
    `read_ellipse_csv` with its offset, rather than hiding that the file is an ellipse CSV.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
        line = head.split(b"\n", 1)[0].decode("utf-8-sig")
        first = next(csv.reader([line]), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return [h.strip().lower() for h in first] if first else []


def first_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """(offset, byte value) of the first byte that is not valid UTF-8, or None; streamed."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            pending = len(decoder.getstate()[0])  # an unfinished character from before
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start, exc.object[exc.start]
            if not chunk:
                return None
            offset += len(chunk)


def _not_utf8(path: Path, name: str) -> Problem | None:
    """`not_utf8` naming the first bad byte, or None when the file is UTF-8 after all."""
    try:
        found = first_invalid_utf8(path)
    except OSError:
        return None
    if found is None:
        return None
    offset, byte = found
    return Problem(
        None,
        "not_utf8",
        f"{name}: ellipse CSV is not UTF-8 text (byte 0x{byte:02x} at offset {offset}); "
        "save it as UTF-8",
    )


def utf8_problem(path: Path, name: str) -> Problem | None:
    """For a CSV whose header cannot be decoded: `not_utf8` when it is an ellipse CSV in
    another encoding (its header still spells `filename`, also in UTF-16), else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError:
        return None
    first = head.split(b"\n", 1)[0].replace(b"\x00", b"").lower()
    if b"filename" not in first:
        return None
    return _not_utf8(path, name)


def is_ellipse_csv(path: Path) -> bool:
    """True when the file's header names a `filename` column (the HC18 layout's key)."""
    header = csv_header(path)
    return bool(header) and "filename" in header


def read_ellipse_csv(
    path: Path, name: str | None = None
) -> tuple[dict[str, Ellipse], list[Problem]]:
    """Ellipses keyed by case id (filename stem), plus every problem found in the file.

    `name` is how messages call the file (its path in the submission; default its name).
    """
    path = Path(path)
    name = name or path.name
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
    except UnicodeDecodeError as exc:
        problems.append(
            _not_utf8(path, name)
            or Problem(None, "unreadable", f"{name}: cannot read the CSV ({exc})")
        )
    except (OSError, csv.Error) as exc:
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
