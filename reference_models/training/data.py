"""Training data from a canonical truth set, split held-out by exam.

Frames of one exam (HC18 `010_HC`, `010_2HC`) are near-duplicates: splitting by image would put
the same fetus in training and validation and overstate accuracy, so the split is by exam.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluator.io.masks import MaskReadError, read_image, read_label_map
from evaluator.truth import TruthCase, TruthSet, TruthSetError
from reference_models.errors import DataError
from reference_models.training.preprocessing import resize_image, resize_label

_HC18_CASE = re.compile(r"^(\d+)_(\d*)HC$")


def exam_id(case: str) -> str:
    """The exam a case belongs to: HC18 `NNN_HC` and `NNN_kHC` share exam `NNN`."""
    match = _HC18_CASE.match(case)
    return match.group(1) if match else case


def load_truth_set(path: Path) -> TruthSet:
    """Load a truth set; training needs images, so cases without one are an error."""
    try:
        truth = TruthSet.load(Path(path))
    except TruthSetError as exc:
        raise DataError(str(exc)) from None
    missing = [c.case for c in truth.cases if c.image_path is None]
    if missing:
        raise DataError(
            f"{len(missing)} case(s) in {path} have no image in images/ (e.g. {missing[0]}); "
            "training needs the images"
        )
    return truth


def split_by_exam(
    cases: list[TruthCase], validation_fraction: float = 0.2, seed: int = 0
) -> tuple[list[TruthCase], list[TruthCase]]:
    """(train, validation) with every exam entirely on one side; deterministic for a seed."""
    if not 0 < validation_fraction < 1:
        raise DataError(f"validation fraction must be in (0, 1), got {validation_fraction}")
    exams = sorted({exam_id(c.case) for c in cases})
    if len(exams) < 2:
        raise DataError("need at least two exams to hold one out for validation")
    random.Random(seed).shuffle(exams)
    n_val = min(len(exams) - 1, max(1, round(len(exams) * validation_fraction)))
    held_out = set(exams[:n_val])
    train = [c for c in cases if exam_id(c.case) not in held_out]
    val = [c for c in cases if exam_id(c.case) in held_out]
    return train, val


@dataclass
class ArraySet:
    """Images and class-index labels at training size, kept in memory (a few hundred frames)."""

    cases: list[str]
    sites: list[str]
    images: np.ndarray  # (N, H, W) uint8
    labels: np.ndarray  # (N, H, W) uint8 class indices into class_values


def class_values_of(cases: list[TruthCase]) -> list[int]:
    """Sorted label values present in the truth set (0 first: background)."""
    values: set[int] = {0}
    for case in cases:
        values |= {int(v) for v in np.unique(_read_label(case))}
    return sorted(values)


def _read_label(case: TruthCase) -> np.ndarray:
    try:
        return read_label_map(case.label_path)
    except MaskReadError as exc:
        raise DataError(f"case {case.case}: {exc}") from None


def load_arrays(cases: list[TruthCase], size: tuple[int, int], class_values: list[int]) -> ArraySet:
    """Read, resize and index every case; labels become indices into `class_values`."""
    lookup = np.zeros(256, np.uint8)
    for index, value in enumerate(class_values):
        if not 0 <= value < 256:
            raise DataError(f"label value {value} is outside 0..255")
        lookup[value] = index
    images, labels = [], []
    for case in cases:
        try:
            image = read_image(case.image_path)
        except MaskReadError as exc:
            raise DataError(f"case {case.case}: {exc}") from None
        label = _read_label(case)
        if image.shape != label.shape:
            raise DataError(f"case {case.case}: image {image.shape} and label {label.shape} differ")
        unknown = set(np.unique(label).tolist()) - set(class_values)
        if unknown:
            raise DataError(
                f"case {case.case}: label values {sorted(unknown)} not in {class_values}"
            )
        images.append(resize_image(image, size))
        labels.append(lookup[resize_label(label, size)])
    if not images:
        raise DataError("no cases to load")
    return ArraySet(
        cases=[c.case for c in cases],
        sites=[c.site for c in cases],
        images=np.stack(images),
        labels=np.stack(labels),
    )
