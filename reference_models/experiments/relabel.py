"""One class of a multi-class truth set as its own binary truth set.

The cross-site experiment fine-tunes a fetal-head model trained on HC18 (head = 1) on PSFHS,
whose labels hold the pubic symphysis (1) and the head (2). Training the same binary network
on PSFHS heads needs PSFHS labels where head = 1 and everything else is background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluator.io.masks import read_label_map
from evaluator.truth import TruthSet, write_truth_set


def binary_truth_set(source: TruthSet, value: int, out: Path) -> TruthSet:
    """Write `out` with label == `value` as 1 (else 0); images and spacing stay the same."""
    rows = []
    images: dict[str, Path] = {}
    for case in source.cases:
        label = read_label_map(case.label_path)
        rows.append(
            (case.case, case.site, case.spacing, (label == value).astype(np.uint8), case.extra)
        )
        if case.image_path is not None:
            images[case.case] = case.image_path
    return write_truth_set(Path(out), rows, images=images)
