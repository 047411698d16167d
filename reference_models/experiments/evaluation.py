"""Held-out evaluation at each case's original size with the evaluator's own metrics.

Scores come from `evaluator.metrics` (the leaderboard's implementation) and predictions from the
platform's own pixel pipeline (`export.predict`: the image read, resized and labelled as the
model-file runner does), so a local number here and the platform's number for the same model
file agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from evaluator.io.masks import read_label_map
from evaluator.metrics.biometry import head_circumference_mm
from evaluator.metrics.segmentation import score_class
from evaluator.truth import TruthCase
from reference_models.export.model_file import SegmentationOutput
from reference_models.export.platform_spec import model_spec
from reference_models.export.predict import predict_file


@dataclass(frozen=True)
class Summary:
    """Means over cases: Dice and HD95 (mm) per class value, and HC error (mm) for heads."""

    dice: dict[int, float]
    hd95_mm: dict[int, float]
    hc_abs_error_mm: float | None
    cases: int


def _head_value(class_values: list[int]) -> int:
    """The fetal-head class: the only foreground value, or 2 in PSFHS (0/1 PS/2 head)."""
    foreground = [v for v in class_values if v != 0]
    return 2 if 2 in foreground and len(foreground) > 1 else foreground[0]


def evaluate_model(
    model: torch.nn.Module, meta: dict, cases: list[TruthCase], *, measure_hc: bool = True
) -> Summary:
    """Predict every case at full size and average the evaluator's metrics."""
    wrapped = SegmentationOutput(model.eval(), probabilities=False)
    spec = model_spec(meta, "logits")  # read exactly as the platform reads the exported file

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return wrapped(x)

    foreground = [v for v in meta["class_values"] if v != 0]
    dice: dict[int, list[float]] = {v: [] for v in foreground}
    hd95: dict[int, list[float]] = {v: [] for v in foreground}
    hc_errors: list[float] = []
    head = _head_value(meta["class_values"])
    for case in cases:
        truth = read_label_map(case.label_path)
        pred = predict_file(forward, case.image_path, spec)
        for value in foreground:
            score = score_class(pred == value, truth == value, case.spacing)
            dice[value].append(score.metrics["dice"])
            hd95[value].append(score.metrics["hd95"])
        if measure_hc and "hc_mm" in case.extra:
            measured = head_circumference_mm(pred == head, case.spacing)
            reference = float(case.extra["hc_mm"])
            hc_errors.append(abs(measured - reference) if math.isfinite(measured) else reference)
    return Summary(
        dice={v: float(np.mean(s)) for v, s in dice.items()},
        hd95_mm={v: float(np.mean(s)) for v, s in hd95.items()},
        hc_abs_error_mm=float(np.mean(hc_errors)) if hc_errors else None,
        cases=len(cases),
    )
