"""Importer for the PSFHS release (pubic symphysis and fetal head, intrapartum ultrasound).

The release stores each image as a 3 x 256 x 256 MetaImage of identical grey planes and each
label as a 256 x 256 MetaImage with 0 background, 1 pubic symphysis, 2 fetal head. Spacing is
1 x 1 with no physical meaning, so the truth set records 1.0 mm (distances are in pixels).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from evaluator.importers.common import ImporterError, progress_bar
from evaluator.importers.sites import check_covers
from evaluator.io.masks import (
    MaskReadError,
    read_image,
    read_label_map,
    write_image,
    write_label_map,
)
from evaluator.truth import TruthSet, write_cases_csv

CLASS_VALUES = (0, 1, 2)


def import_psfhs(
    release_dir: Path,
    out: Path,
    site: str = "psfhs",
    progress: bool = True,
    sites: Mapping[str, str] | None = None,
) -> TruthSet:
    """Turn a PSFHS release folder (image_mha/, label_mha/) into a truth set at `out`.

    Labels are written as PNG (values 0, 1, 2) and images as 2-D greyscale PNG; the case id
    is the release's file stem (e.g. `03744`). Every case is at `site`, unless `sites` maps
    case ids to sites (it must cover every case).
    """
    release_dir = Path(release_dir)
    image_dir, label_dir = release_dir / "image_mha", release_dir / "label_mha"
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise ImporterError(f"{folder} is missing: is this a PSFHS release folder?")
    label_paths = sorted(p for p in label_dir.glob("*.mha") if not p.name.startswith("."))
    if not label_paths:
        raise ImporterError(f"{label_dir} holds no .mha labels")
    if sites is not None:
        check_covers(sites, [p.stem for p in label_paths], "the site mapping")
    out = Path(out)
    records: list[dict[str, object]] = []
    failures: list[str] = []
    for label_path in progress_bar(label_paths, len(label_paths), "PSFHS", progress):
        case = label_path.stem
        image_path = image_dir / label_path.name
        try:
            if not image_path.is_file():
                raise ImporterError(f"image_mha/{label_path.name} is missing")
            label = read_label_map(label_path)
            image = read_image(image_path)
        except (ImporterError, MaskReadError) as exc:
            failures.append(f"{case}: {exc}")
            continue
        values = set(np.unique(label).tolist())
        if not values <= set(CLASS_VALUES):
            failures.append(f"{case}: label values {sorted(values)} outside {CLASS_VALUES}")
            continue
        if image.shape != label.shape:
            failures.append(f"{case}: image {image.shape} and label {label.shape} differ")
            continue
        write_label_map(out / "labels" / f"{case}.png", label.astype(np.uint8))
        write_image(out / "images" / f"{case}.png", image)
        records.append(
            {
                "case": case,
                "site": sites[case] if sites is not None else site,
                "spacing_row_mm": "1.0",
                "spacing_col_mm": "1.0",
            }
        )
    if failures:
        raise ImporterError(
            f"{len(failures)} PSFHS case(s) could not be imported:\n  " + "\n  ".join(failures)
        )
    write_cases_csv(out / "cases.csv", records, [])
    return TruthSet.load(out)
