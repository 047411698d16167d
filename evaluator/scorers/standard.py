"""The standard scorer: per-class segmentation metrics and biometry, case by case.

`SegmentationScorer` runs a segmentation submission: unpack, discover, decode each case's
prediction and label exactly once inside the process that scores them (value and shape
checks happen in that same decode), score cases in chunks across the process pool
(evaluator.parallel), and build the results document. `StandardScorer` scores each class with
`evaluator.metrics.segmentation.score_class` (plus NSD and Boundary IoU where the task lists
them) and the task's biometric measurements; the psfhs2023 scorer reuses the pipeline with
its own per-case formulas.

A submission with any problem is rejected as a whole (`InvalidSubmission`) with every problem
listed, so a participant fixes everything in one go and no partial leaderboard entry exists.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from evaluator.errors import InvalidSubmission, TruthError
from evaluator.io.archives import ArchiveError, unpacked
from evaluator.io.masks import MaskReadError, read_label_map
from evaluator.metrics.segmentation import score_class
from evaluator.parallel import ProgressCallback, run_jobs
from evaluator.results import build_results, input_digests
from evaluator.scorers.registry import SEGMENTATION, Scorer, TaskSpec, get_scorer
from evaluator.truth import TruthCase, TruthSet
from evaluator.validation import (
    PredictionError,
    Problem,
    ValidationReport,
    discover_predictions,
    load_prediction,
    prediction_ellipse,
    validate_predictions,
)

#: Metrics of each class, in the order a task lists them by default, with their direction
#: (True: higher is better); evaluator.metrics.segmentation.SEGMENTATION_METRICS computes them.
SEGMENTATION_METRICS: dict[str, bool] = {
    "dice": True,
    "iou": True,
    "hd": False,
    "hd95": False,
    "hd95_max": False,
    "assd": False,
    "masd": False,
}

#: Boundary metrics from Metrics Reloaded a task may add to its list (not in the default
#: list, so default tasks pay nothing for them), with their direction; each is computed at
#: the task's own width in mm (`nsd_tolerance_mm`, `boundary_iou_distance_mm`), docs/metrics.md.
BOUNDARY_METRICS: dict[str, bool] = {"nsd": True, "boundary_iou": True}

#: Biometric measurements a class can carry: key -> human name. Each adds four metrics to its
#: class: <key>_pred_mm, <key>_ref_mm, <key>_abs_diff_mm and <key>_diff_mm (pred - ref).
BIOMETRY = {
    "hc": "head circumference",
    "ac": "abdominal circumference",
    "fl": "femur length",
}
BIOMETRY_SUFFIXES = ("pred_mm", "ref_mm", "abs_diff_mm", "diff_mm")

# --------------------------------------------------------------------------------------------
# One case (the process-pool engine that runs many is evaluator.parallel)


def _reference_measurement(key: str, extra: Mapping[str, str]) -> float | None:
    """The truth set's own measurement (e.g. the `hc_mm` column), when given and numeric."""
    raw = (extra or {}).get(f"{key}_mm", "")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _measure(key: str, mask: np.ndarray, spacing: tuple[float, float]) -> float:
    """One biometric measurement in mm; NaN when the mask gives none (e.g. empty)."""
    # Deferred: biometry loads numba and its compiled kernels (about 0.6 s), which only
    # scoring a case needs; validating a submission or listing tasks never does.
    from evaluator.metrics import biometry

    function = {
        "hc": biometry.head_circumference_mm,
        "ac": biometry.abdominal_circumference_mm,
        "fl": biometry.femur_length_mm,
    }[key]
    value = function(_crop_to_foreground(mask), spacing)
    return math.nan if value is None else float(value)


def _crop_to_foreground(mask: np.ndarray, margin: int = 1) -> np.ndarray:
    """The mask cut to its foreground's bounding box plus a background margin.

    Measurements are translation invariant, and a head rarely fills the frame, so measuring
    on the crop is several times cheaper. The margin keeps every outline edge; where the
    foreground touches the image border the crop keeps that border, so edges there stay
    excluded exactly as on the full image.
    """
    if mask.dtype == np.bool_ and mask.flags.c_contiguous:
        # OpenCV's bounding rectangle of the non-zero pixels: several times cheaper than
        # np.any along both axes of an 800x540 mask.
        x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
        if w == 0 or h == 0:
            return mask
        r0, r1, c0, c1 = y, y + h - 1, x, x + w - 1
    else:
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size == 0:
            return mask
        cols = np.flatnonzero(mask.any(axis=0))
        r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[-1]
    r0, r1 = max(r0 - margin, 0), min(r1 + margin + 1, mask.shape[0])
    c0, c1 = max(c0 - margin, 0), min(c1 + margin + 1, mask.shape[1])
    return mask[r0:r1, c0:c1]


@dataclass(frozen=True)
class CaseArrays:
    """One decoded case, as a segmentation scorer scores it: the prediction and reference
    label maps (one shape), the pixel spacing (row_mm, col_mm), the truth's extra columns
    (e.g. `hc_mm`), and `predicted_measurements` ({"hc": mm, ...}): biometric values the
    prediction states exactly (an HC18 result row's ellipse), used instead of measuring its
    mask."""

    pred: np.ndarray
    ref: np.ndarray
    spacing: tuple[float, float]
    extra: Mapping[str, str] = field(default_factory=dict)
    predicted_measurements: Mapping[str, float] | None = None


def standard_case_metrics(
    task: TaskSpec, case: CaseArrays
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per-case metrics {group: {metric: value}} and flags of the `standard` scorer.

    Binary tasks compare non-zero pixels; multi-class tasks compare each class's label value.
    Flags are "<class>:<flag>" (e.g. "head:empty_prediction").
    """
    pred, ref, spacing = case.pred, case.ref, case.spacing
    metrics: dict[str, dict[str, float]] = {}
    flags: list[str] = []
    masks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for cls in task.classes:
        if task.binary:
            p = pred if pred.dtype == np.bool_ else pred != 0
            r = ref if ref.dtype == np.bool_ else ref != 0
        else:
            p, r = pred == cls.value, ref == cls.value
        masks[cls.name] = (p, r)
        result = score_class(p, r, spacing)
        values = result.metrics
        metrics[cls.name] = {
            m: float(values[m]) if m in values else _boundary_metric(m, p, r, spacing, task)
            for m in task.metrics
        }
        flags += [f"{cls.name}:{f}" for f in result.flags]
    for key, cls_name in task.biometry.items():
        p, r = masks[cls_name]
        known = (case.predicted_measurements or {}).get(key)
        predicted = _measure(key, p, spacing) if known is None else float(known)
        reference = _reference_measurement(key, case.extra)
        if reference is None:
            reference = _measure(key, r, spacing)
        if math.isnan(predicted):
            flags.append(f"{cls_name}:{key}_not_measurable")
        metrics[cls_name].update(
            {
                f"{key}_pred_mm": predicted,
                f"{key}_ref_mm": reference,
                f"{key}_abs_diff_mm": abs(predicted - reference),
                f"{key}_diff_mm": predicted - reference,
            }
        )
    return metrics, sorted(set(flags))


def _boundary_metric(
    metric: str, pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float], task: TaskSpec
) -> float:
    """One of `BOUNDARY_METRICS` of one class, at the task's width in mm."""
    # Deferred, as biometry in `_measure`: these load numba and their compiled kernels, which
    # only scoring a case of a task that lists them needs (loading a task imports this module).
    from evaluator.metrics.boundary_iou import boundary_iou
    from evaluator.metrics.surface_dice import surface_dice  # deferred: as above

    if metric == "nsd":
        return surface_dice(pred, ref, spacing, task.nsd_tolerance_mm)
    if metric == "boundary_iou":
        return boundary_iou(pred, ref, spacing, task.boundary_iou_distance_mm)
    raise KeyError(f"the standard scorer has no metric {metric!r}")


def allowed_values(task: TaskSpec) -> list[int]:
    """Pixel values a prediction may hold: background 0 and the task's class values."""
    return [0, *(c.value for c in task.classes)]


@dataclass(frozen=True)
class _Job:
    truth: TruthCase
    prediction: Path


def _score_job(task: TaskSpec, job: _Job) -> tuple[dict[str, Any] | None, Problem | None]:
    """Decode the truth label, then the prediction checked against its shape, then score.

    The label is decoded first so that the prediction's shape check uses it: each file is
    read exactly once (no separate header read of the label).
    """
    try:
        ref = read_label_map(job.truth.label_path)
    except (MaskReadError, OSError) as exc:
        raise TruthError(f"truth label {job.truth.label_path.name} is unreadable: {exc}") from None
    try:
        pred = load_prediction(
            job.prediction, job.truth, allowed_values(task), task.binary, ref.shape
        )
    except PredictionError as exc:
        return None, exc.problem
    if task.binary:
        pred = pred.view(np.bool_)  # load_prediction returns 0/1 (uint8): already a mask
    case = CaseArrays(pred, ref, job.truth.spacing, job.truth.extra, _stated_measurements(job))
    metrics, flags = get_scorer(task.scorer).case_metrics(task, case)
    return {
        "case": job.truth.case,
        "site": job.truth.site,
        "flags": flags,
        "metrics": metrics,
    }, None


#: Biometric keys that are the perimeter of an ellipse (docs/metrics.md), so an ellipse
#: prediction states them exactly.
_ELLIPSE_PERIMETER_KEYS = ("hc", "ac")


def _stated_measurements(job: _Job) -> dict[str, float] | None:
    """HC (and AC) of an HC18 result-CSV row: the Ramanujan perimeter of the row's own
    semi-axes in mm, as the HC18 challenge computed HC from a submitted ellipse (van den
    Heuvel et al., PLoS ONE 13(8):e0200412, 2018). Its raster is clipped by the image border,
    so measuring that instead was up to 28.7 mm off for a head cut by the border, and
    undefined (null) for an ellipse wholly outside the image."""
    ellipse = prediction_ellipse(job.prediction, job.truth.case)
    if ellipse is None:
        return None
    return dict.fromkeys(_ELLIPSE_PERIMETER_KEYS, ellipse.perimeter)


# --------------------------------------------------------------------------------------------
# The scorers


def _source(predictions: Path) -> str | None:
    """The uploaded archive's name for messages (None for a folder)."""
    return Path(predictions).name if Path(predictions).is_file() else None


def _archive_report(predictions: Path, exc: Exception) -> ValidationReport:
    return ValidationReport([Problem(None, "bad_archive", str(exc))], {}, None)


def _sorted_problems(problems: list[Problem], truth: TruthSet) -> list[Problem]:
    order = {c.case: i for i, c in enumerate(truth.cases)}
    return sorted(
        problems,
        key=lambda p: (
            (0, 0 if p.is_error else 1) if p.case is None else (1, order.get(p.case, len(order)))
        ),
    )


class SegmentationScorer(Scorer):
    """Label-map submissions scored case by case; subclasses say how one case is scored."""

    kind = SEGMENTATION

    def case_metrics(
        self, task: TaskSpec, case: CaseArrays
    ) -> tuple[dict[str, dict[str, float]], list[str]]:
        """One case's {group: {metric: value}} and flags."""
        raise NotImplementedError

    def validate(self, task: TaskSpec, truth_root: Path, predictions: Path) -> ValidationReport:
        truth = TruthSet.load(truth_root)
        try:
            with unpacked(Path(predictions)) as folder:
                return validate_predictions(
                    folder, truth, allowed_values(task), task.binary, source=_source(predictions)
                )
        except ArchiveError as exc:
            return _archive_report(predictions, exc)

    def score(
        self,
        task: TaskSpec,
        truth_root: Path,
        predictions: Path,
        *,
        workers: int | None,
        progress: ProgressCallback | None,
        n_bootstrap: int,
    ) -> dict[str, Any]:
        truth = TruthSet.load(truth_root)
        workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
        inputs = input_digests(truth_root, predictions)
        try:
            with unpacked(predictions) as folder:
                if not Path(folder).is_dir():
                    raise InvalidSubmission(
                        ValidationReport(
                            [
                                Problem(
                                    None,
                                    "not_a_folder",
                                    f"{predictions.name} is not a folder or archive",
                                )
                            ],
                            {},
                            None,
                        )
                    )
                files, problems = discover_predictions(folder, truth, source=_source(predictions))
                by_case = truth.by_case()
                jobs = [
                    _Job(by_case[c.case], files[c.case]) for c in truth.cases if c.case in files
                ]
                outcomes = run_jobs(_score_job, task, jobs, workers=workers, progress=progress)
                cases = [r for r, _ in outcomes if r is not None]
                problems += [p for _, p in outcomes if p is not None]
                report = ValidationReport(
                    _sorted_problems(problems, truth),
                    {r["case"]: files[r["case"]] for r in cases},
                    Path(folder),
                )
                if not report.ok:
                    raise InvalidSubmission(report)
        except ArchiveError as exc:
            raise InvalidSubmission(_archive_report(predictions, exc)) from None

        cases.sort(key=lambda c: c["case"])
        return build_results(task, cases, inputs, n_bootstrap=n_bootstrap)


class StandardScorer(SegmentationScorer):
    """Per-class metrics (`score_class`) plus the task's biometric measurements."""

    name = "standard"
    metrics = SEGMENTATION_METRICS
    optional_metrics = BOUNDARY_METRICS
    #: Each measurement's absolute error is lower-is-better; the predicted and reference
    #: values and the signed difference are measurements with no better side.
    extra_metrics = {
        f"{key}_{suffix}": (False if suffix == "abs_diff_mm" else None)
        for key in BIOMETRY
        for suffix in BIOMETRY_SUFFIXES
    }
    measurements = BIOMETRY

    def metric_paths(self, task: TaskSpec) -> list[str]:
        paths = super().metric_paths(task)
        for key, cname in task.biometry.items():
            paths += [f"{cname}.{key}_{suffix}" for suffix in BIOMETRY_SUFFIXES]
        return paths

    def case_metrics(self, task, case):
        return standard_case_metrics(task, case)


SCORER = StandardScorer()
