"""Importer for the HC18 release (fetal head circumference, Radboud UMC).

The release ships thin ellipse *outlines* (`NNN_HC_Annotation.png`), not filled masks. A plain
hole fill fails on heads cut by the image border (e.g. 186_HC, 346_HC), where the outline is
not closed, so each outline is fitted with an ellipse (in mm) and that ellipse is rasterised,
clipped to the image. The fitted perimeter reproduces the release's head-circumference column.
"""

from __future__ import annotations

import csv
import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from evaluator.geometry.ellipse import Ellipse, fit_ellipse, rasterize_ellipse
from evaluator.importers.common import ImporterError, progress_bar
from evaluator.importers.sites import check_covers
from evaluator.truth import TruthSet, write_cases_csv

CSV_NAME = "training_set_pixel_size_and_HC.csv"
IMAGE_FOLDER = "training_set"


@dataclass(frozen=True)
class HC18Row:
    """One line of the release CSV: image file name, isotropic pixel size, reference HC."""

    filename: str
    pixel_size_mm: float
    hc_mm: str  # kept verbatim so cases.csv carries the release's own digits


def read_release_csv(path: Path) -> list[HC18Row]:
    """Parse `training_set_pixel_size_and_HC.csv` (CRLF, no final newline)."""
    if not path.is_file():
        raise ImporterError(f"{path} is missing: is this an HC18 release folder?")
    rows: list[HC18Row] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        if len(header) < 3 or header[0] != "filename":
            raise ImporterError(
                f"{path.name}: unexpected header {header}; expected "
                "filename,pixel size(mm),head circumference (mm)"
            )
        for line_no, row in enumerate(reader, start=2):
            if not row or not row[0].strip():
                continue
            try:
                pixel = float(row[1])
                float(row[2])
            except (IndexError, ValueError):
                raise ImporterError(f"{path.name} line {line_no}: malformed row {row}") from None
            if not (math.isfinite(pixel) and pixel > 0):
                raise ImporterError(f"{path.name} line {line_no}: pixel size must be positive")
            rows.append(HC18Row(row[0].strip(), pixel, row[2].strip()))
    if not rows:
        raise ImporterError(f"{path.name} lists no images")
    return rows


def outline_ellipse(outline: np.ndarray, pixel_size_mm: float) -> Ellipse | None:
    """Ellipse (in mm) fitted to the nonzero pixels of an annotation outline."""
    rows, cols = np.nonzero(outline)
    points = np.column_stack([cols, rows]).astype(np.float64) * pixel_size_mm
    return fit_ellipse(points)


def filled_head(outline: np.ndarray, pixel_size_mm: float) -> tuple[np.ndarray, Ellipse]:
    """Filled {0,1} head mask from an outline, clipped to the image; raises ImporterError."""
    ellipse = outline_ellipse(outline, pixel_size_mm)
    if ellipse is None:
        raise ImporterError("the annotation has fewer than 5 outline pixels")
    mask = rasterize_ellipse(ellipse, outline.shape, (pixel_size_mm, pixel_size_mm))
    return mask.astype(np.uint8), ellipse


def _read_grey(path: Path) -> np.ndarray:
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if array is None:
        raise ImporterError(f"{path.name} is missing or not a readable image")
    if array.ndim == 3:
        array = cv2.cvtColor(array, cv2.COLOR_BGR2GRAY)
    return array


def import_hc18(
    release_dir: Path,
    out: Path,
    site: str = "hc18",
    progress: bool = True,
    sites: Mapping[str, str] | None = None,
) -> TruthSet:
    """Turn an HC18 release folder into a truth set at `out` (labels PNG {0,1}, images copied).

    cases.csv gets case `NNN_HC` (the image stem), the pixel size as both spacings and the
    release's `hc_mm`. Every case is at `site`, unless `sites` maps case ids to sites (see
    `evaluator.importers.sites`; it must cover every case). Runs serially: each case takes a
    few milliseconds.
    """
    release_dir = Path(release_dir)
    rows = read_release_csv(release_dir / CSV_NAME)
    if sites is not None:
        check_covers(sites, [Path(r.filename).stem for r in rows], "the site mapping")
    folder = release_dir / IMAGE_FOLDER
    if not folder.is_dir():
        raise ImporterError(f"{folder} is missing: is this an HC18 release folder?")
    out = Path(out)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    records: list[dict[str, object]] = []
    failures: list[str] = []
    for row in progress_bar(rows, len(rows), "HC18", progress):
        case = Path(row.filename).stem
        try:
            outline = _read_grey(folder / f"{case}_Annotation.png")
            mask, _ = filled_head(outline, row.pixel_size_mm)
            image_path = folder / row.filename
            if not image_path.is_file():
                raise ImporterError(f"{row.filename} is missing")
        except ImporterError as exc:
            failures.append(f"{case}: {exc}")
            continue
        cv2.imwrite(str(out / "labels" / f"{case}.png"), mask, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        shutil.copyfile(image_path, out / "images" / f"{case}.png")
        spacing = repr(row.pixel_size_mm)
        records.append(
            {
                "case": case,
                "site": sites[case] if sites is not None else site,
                "spacing_row_mm": spacing,
                "spacing_col_mm": spacing,
                "hc_mm": row.hc_mm,
            }
        )
    if failures:
        raise ImporterError(
            f"{len(failures)} HC18 case(s) could not be imported:\n  " + "\n  ".join(failures)
        )
    write_cases_csv(out / "cases.csv", records, ["hc_mm"])
    return TruthSet.load(out)
