"""Words for metric names: what a leaderboard header, a plot axis or an export says.

Results store short keys (``hd95``, ``hc_abs_diff_mm``); a person reading a board needs
"HD95 (mm)" and "HC abs. diff (mm)". Units follow the scorer: the standard metrics are in
millimetres (pixel spacing applied), while the MICCAI 2023 PSFHS scorer keeps the challenge's
pixel distances (docs/tasks.md). An unknown key falls back to itself, so a new metric shows up
with its raw name rather than not at all.
"""

from __future__ import annotations

from evaluator.tasks import BIOMETRY

_MM = {
    "hd": "HD",
    "hd95": "HD95",
    "hd95_max": "HD95 max",
    "assd": "ASSD",
    "masd": "MASD",
    "asd": "ASD",
}

_PLAIN = {
    "dice": "Dice",
    "iou": "IoU",
    "aop_pred": "AoP predicted (°)",
    "aop_ref": "AoP reference (°)",
    "aop_abs_diff": "AoP abs. diff (°)",
    "score": "Challenge score",
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "macro_auc": "Macro AUC",
    "correct": "Correct",
    "p_true": "P(true class)",
}

_BIOMETRY_SUFFIXES = {
    "pred_mm": "predicted (mm)",
    "ref_mm": "reference (mm)",
    "abs_diff_mm": "abs. diff (mm)",
    "diff_mm": "diff, pred − ref (mm)",
}

#: Distances the psfhs2023 scorer reports in pixels, as the challenge's script did.
_PIXEL_SCORERS = {"psfhs2023"}


def metric_label(metric: str, scorer: str = "standard") -> str:
    """Human name of a metric key, with its unit: ``hd95`` -> "HD95 (mm)"."""
    if metric in _MM:
        unit = "px" if scorer in _PIXEL_SCORERS else "mm"
        return f"{_MM[metric]} ({unit})"
    if metric in _PLAIN:
        return _PLAIN[metric]
    for key in BIOMETRY:
        for suffix, words in _BIOMETRY_SUFFIXES.items():
            if metric == f"{key}_{suffix}":
                return f"{key.upper()} {words}"
    return metric


def column_label(class_name: str, metric: str, scorer: str = "standard") -> str:
    """The class, then the metric in words ("head HD95 (mm)"): classes share metric names."""
    return f"{class_name} {metric_label(metric, scorer)}"
