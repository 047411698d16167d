"""Per-class segmentation scores: overlap (Dice, IoU) and surface distances (HD, HD95, ASSD...).

Every value equals medpy 0.5.2 (``medpy.metric.binary``) to 1e-6 mm where medpy defines it,
and is 50x+ faster (see ``benchmarks/metrics.py`` and ``docs/metrics.md``). Where medpy raises
(an empty mask) the score is still defined, and flagged, so that one empty prediction cannot
abort a whole leaderboard evaluation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEGMENTATION_METRICS: tuple[str, ...] = ("dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd")

DISTANCE_METRICS: tuple[str, ...] = ("hd", "hd95", "hd95_max", "assd", "masd")

FLAG_EMPTY_PREDICTION = "empty_prediction"
FLAG_EMPTY_REFERENCE = "empty_reference"
FLAG_BOTH_EMPTY = "both_empty"


@dataclass(frozen=True)
class ClassScore:
    """All segmentation metrics of one class in one case, plus flags for undefined cases."""

    metrics: dict[str, float]
    flags: tuple[str, ...]


def _as_mask(array: np.ndarray, name: str) -> np.ndarray:
    """Boolean C-contiguous 2-D view of a mask (nonzero = foreground, as medpy treats it)."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D mask, got an array of shape {array.shape}")
    if array.dtype != np.bool_:
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise ValueError(f"{name} must be numeric or boolean, got dtype {array.dtype}")
        array = array != 0
    return np.ascontiguousarray(array)


def _check_spacing(spacing: tuple[float, float]) -> tuple[float, float]:
    """(row_mm, col_mm) as floats; both must be finite and positive."""
    try:
        row_mm, col_mm = (float(s) for s in spacing)
    except (TypeError, ValueError):
        raise ValueError(f"spacing must be two numbers (row_mm, col_mm), got {spacing!r}") from None
    if not (math.isfinite(row_mm) and math.isfinite(col_mm) and row_mm > 0 and col_mm > 0):
        raise ValueError(f"spacing must be finite and positive, got {spacing!r}")
    return row_mm, col_mm


def image_diagonal_mm(shape: tuple[int, int], spacing: tuple[float, float]) -> float:
    """Length of the image diagonal: the worst distance a prediction can score on this image."""
    return math.hypot(shape[0] * spacing[0], shape[1] * spacing[1])


def _empty_score(shape: tuple[int, int], spacing, pred_empty: bool, ref_empty: bool) -> ClassScore:
    """Score when medpy is undefined: both empty is perfect, one empty is worst possible."""
    if pred_empty and ref_empty:
        metrics = {"dice": 1.0, "iou": 1.0, **dict.fromkeys(DISTANCE_METRICS, 0.0)}
        return ClassScore(metrics, (FLAG_BOTH_EMPTY,))
    worst = image_diagonal_mm(shape, spacing)
    metrics = {"dice": 0.0, "iou": 0.0, **dict.fromkeys(DISTANCE_METRICS, worst)}
    flag = FLAG_EMPTY_PREDICTION if pred_empty else FLAG_EMPTY_REFERENCE
    return ClassScore(metrics, (flag,))


def score_class(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]) -> ClassScore:
    """Score one class: `pred` and `ref` are 2-D masks of one shape, spacing is (row_mm, col_mm).

    - dice = 2|P∩R|/(|P|+|R|), iou = |P∩R|/|P∪R|;
    - hd = max of both directed maxima (medpy ``hd``);
    - hd95 = 95th percentile of both directions' distances pooled (medpy ``hd95``);
    - hd95_max = max of the two directed 95th percentiles;
    - assd = mean of both directions pooled (medpy 0.5.2 ``assd``);
    - masd = mean of the two directed means (``(asd(P,R) + asd(R,P)) / 2``).
    """
    pred = _as_mask(pred, "prediction")
    ref = _as_mask(ref, "reference")
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    spacing = _check_spacing(spacing)

    # Imported here, not at module level: importing this module for SEGMENTATION_METRICS or
    # ClassScore alone should not load numba and the compiled kernels.
    from evaluator.metrics.surface import surface_scores

    scores = surface_scores(pred, ref, spacing)
    if scores is None:
        return _empty_score(pred.shape, spacing, True, True)
    pred_size, ref_size, overlap = int(scores.pred_size), int(scores.ref_size), scores.overlap
    if pred_size == 0 or ref_size == 0:
        return _empty_score(pred.shape, spacing, pred_size == 0, ref_size == 0)
    metrics = {
        "dice": 2.0 * overlap / (pred_size + ref_size),
        "iou": overlap / (pred_size + ref_size - overlap),
        "hd": float(scores.hd),
        "hd95": float(scores.hd95),
        "hd95_max": float(scores.hd95_max),
        "assd": float(scores.assd),
        "masd": float(scores.masd),
    }
    return ClassScore(metrics, ())
