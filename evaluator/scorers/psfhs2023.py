"""The MICCAI 2023 PSFHS (FH-PS-AoP) challenge's own scoring, reproduced.

Why a separate scorer: the challenge leaderboard was computed with its own formulas (pixel
units, a smoothed Dice, SimpleITK distances, fixed penalties for empty predictions and an angle
of progression measured from fitted ellipses), which differ from fetalbench's standard metrics.
Reporting "PSFHS 2023 score" means using exactly those formulas, quirks included; each one is
written out in docs/tasks.md.

Per case, for three groups - ps (label 1), fh (label 2) and all (labels 1 and 2 together):

* dice = (2 |P & R| + 1) / (|P| + |R| + 1)
* hd   = SimpleITK HausdorffDistanceImageFilter on the two whole masks (pixels)
* asd  = (sum of |SignedMaurerDistanceMap(R)| over P's contour pixels + the same with P and R
  swapped) / (number of contour pixels of P + of R), where a contour pixel is one whose
  signed Maurer distance is exactly 0.
* an empty prediction of a group scores dice 0, hd 100, asd 100 (the challenge's penalty).

and the angle of progression (AoP, degrees) of prediction and reference; per case
aop_abs_diff = |AoP(pred) - AoP(ref)|. The challenge score over n cases is

    S = 0.25 mDSC + 0.25 [0.5 (1 - mHD/100) + 0.5 (1 - mASD/100)] + 0.5 (1 - mean(dAoP)/180)

with mDSC, mHD, mASD the means over cases and over the three groups. S is linear in the per-case
values, so each case also carries its own `challenge.score` whose mean is S.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import SimpleITK as sitk

from evaluator.scorers.standard import SegmentationScorer

PS_VALUE = 1
FH_VALUE = 2
GROUPS = ("ps", "fh", "all")
#: The metrics of each group (ps, fh, all), with their direction (True: higher is better).
GROUP_METRICS: dict[str, bool] = {"dice": True, "hd": False, "asd": False}
AOP_METRICS = ("aop_pred", "aop_ref", "aop_abs_diff")

#: The penalties the challenge gives a group whose prediction is empty.
EMPTY_DICE, EMPTY_HD, EMPTY_ASD = 0.0, 100.0, 100.0

#: The challenge converts the pubic-symphysis axis angle from degrees with this constant (not
#: pi/180); kept, since AoP differences of ~1e-3 degree would otherwise creep in.
_PS_DEG_TO_RAD = 0.01745


def metric_paths() -> list[str]:
    """The "group.metric" paths a psfhs2023 result carries (all of them, whatever a task's
    `metrics` lists: the challenge's metrics are fixed)."""
    paths = [f"{g}.{m}" for g in GROUPS for m in GROUP_METRICS]
    paths += [f"aop.{m}" for m in AOP_METRICS]
    return paths + ["challenge.score"]


# --------------------------------------------------------------------------------------------
# Segmentation metrics (pixel units)


def smoothed_dice(pred: np.ndarray, ref: np.ndarray) -> float:
    """(2 |P & R| + 1) / (|P| + |R| + 1), the challenge's Dice (1 for two empty masks)."""
    p = pred.astype(bool)
    r = ref.astype(bool)
    inter = int(np.count_nonzero(p & r))
    return (2 * inter + 1) / (int(np.count_nonzero(p)) + int(np.count_nonzero(r)) + 1)


def _sitk_mask(mask: np.ndarray) -> sitk.Image:
    """A 2D uint8 SimpleITK image with spacing 1: the challenge measures in pixels."""
    return sitk.GetImageFromArray(np.ascontiguousarray(mask, dtype=np.uint8))


def hausdorff(pred: np.ndarray, ref: np.ndarray) -> float:
    """SimpleITK's Hausdorff distance between the non-zero pixels of the two masks (the
    challenge's own call; the scorer computes the same value from its distance maps)."""
    hd_filter = sitk.HausdorffDistanceImageFilter()
    hd_filter.Execute(_sitk_mask(pred), _sitk_mask(ref))
    return float(hd_filter.GetHausdorffDistance())


def _squared_signed_maurer(mask: np.ndarray) -> np.ndarray:
    """Signed squared Maurer distance map (negative inside), float32, one ITK thread.

    Squared distances of a pixel grid are integers, exact in float32, so both challenge
    distances follow from this one map: the Hausdorff distance bit for bit as SimpleITK's
    HausdorffDistanceImageFilter reports it, and the float32 |distance| map of the ASD bit for
    bit as the unsquared filter gives it (checked on real PSFHS labels in the tests). One map
    per mask instead of four keeps the challenge scorer fast; one thread because 256 x 256
    images are too small to share and the pool already uses every core.
    """
    maurer = sitk.SignedMaurerDistanceMapImageFilter()
    maurer.SetInsideIsPositive(False)
    maurer.SetSquaredDistance(True)
    maurer.SetUseImageSpacing(True)
    maurer.SetNumberOfThreads(1)
    maurer.SetNumberOfWorkUnits(1)  # splitting a small image costs more than it saves
    if mask.all():
        return _squared_signed_maurer_of_full_mask(maurer, mask.shape)
    return sitk.GetArrayFromImage(maurer.Execute(_sitk_mask(mask)))


def _squared_signed_maurer_of_full_mask(
    maurer: sitk.SignedMaurerDistanceMapImageFilter, shape: tuple[int, ...]
) -> np.ndarray:
    """The map of a mask with no background pixel, taking the image border as its surface.

    ITK finds no boundary in such a mask and fills the whole map with +FLT_MAX, so the
    challenge's script (and this module, before) gave an ASD of ~1.8e19 pixels, and a HD of
    the same size here, which made one case's score about -3e16 and ruined the mean. The
    mask's true surface is the image border: the map is computed with one background pixel
    padded around the image and cut back, so the outermost ring of pixels is the contour
    (distance 0) and every other pixel is inside (negative). For any mask that has a
    background pixel nothing changes, so results equal the published script wherever that
    script is finite. The HD then equals the challenge's own `HausdorffDistanceImageFilter`
    call, which is finite here (ITK clamps inside distances to 0): checked in the tests.
    """
    padded = np.zeros((shape[0] + 2, shape[1] + 2), np.uint8)
    padded[1:-1, 1:-1] = 1
    squared = sitk.GetArrayFromImage(maurer.Execute(_sitk_mask(padded)))
    return np.ascontiguousarray(squared[1:-1, 1:-1])


def _hausdorff_from_maps(pred, ref, sq_pred, sq_ref) -> float:
    """max over each mask's pixels of the (outside, positive) distance to the other mask."""
    worst = max(float(sq_ref[pred].max(initial=0)), float(sq_pred[ref].max(initial=0)))
    # Contour pixels hold -0.0 in ITK's signed map, and sqrt(-0.0) is -0.0: identical masks
    # would report a HD of "-0.0". A distance is never negative.
    return math.sqrt(worst) if worst > 0 else 0.0


def _asd_from_maps(
    sq_pred: np.ndarray,
    sq_ref: np.ndarray,
    shape: tuple[int, int] | None = None,
    window: tuple[slice, slice] | None = None,
) -> float:
    """The challenge's ASD with its own float32 arithmetic.

    The challenge sums full-image float32 arrays, and a float32 sum depends on where the
    values sit in the array, so maps computed on a crop (`window` of an image of `shape`) are
    put back in place before summing: the result is then identical to the published one.
    """
    pred_dist = np.sqrt(np.abs(sq_pred)).astype(np.float32)
    ref_dist = np.sqrt(np.abs(sq_ref)).astype(np.float32)
    pred_edge = pred_dist == 0
    ref_edge = ref_dist == 0
    pred_dist[~ref_edge] = 0.0
    ref_dist[~pred_edge] = 0.0
    full_shape = shape or pred_dist.shape
    where = window or (slice(None), slice(None))
    placed = []
    for array in (pred_edge, ref_edge, pred_dist, ref_dist):
        full = np.zeros(full_shape, np.float32)
        full[where] = array
        placed.append(full)
    count = np.sum(placed[0]) + np.sum(placed[1])
    if count == 0:
        return math.nan
    return float((np.sum(placed[2]) + np.sum(placed[3])) / count)


def average_surface_distance(pred: np.ndarray, ref: np.ndarray) -> float:
    """Symmetric mean distance between the two contours via signed Maurer distance maps.

    A contour pixel is one where the mask's own signed Maurer distance is exactly 0 (ITK's
    boundary pixels inside the object). Each contour pixel contributes its distance to the
    other mask's contour; the sum is divided by the two contour sizes together.
    """
    return _asd_from_maps(_squared_signed_maurer(pred), _squared_signed_maurer(ref))


def _crop_window(pred: np.ndarray, ref: np.ndarray) -> tuple[slice, slice]:
    """Where to cut both masks: their union's bounding box plus one background pixel.

    Exact for every value computed here: all contour pixels and all mask pixels stay inside
    the crop, so every distance measured between them is unchanged, and the crop keeps the
    image border wherever a mask touches it (ITK treats beyond-the-border as object, so such
    pixels are not contour pixels in either case). Small structures (the pubic symphysis is
    ~2.5 % of the image) then cost a fraction of a full-image distance map.
    """
    union = pred | ref
    rows = np.flatnonzero(union.any(axis=1))
    cols = np.flatnonzero(union.any(axis=0))
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, union.shape[0])
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, union.shape[1])
    return slice(r0, r1), slice(c0, c1)


def group_scores(pred: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """dice, hd, asd for one binary group, with the challenge's empty-prediction penalty."""
    if not np.any(pred):
        return {"dice": EMPTY_DICE, "hd": EMPTY_HD, "asd": EMPTY_ASD}
    if not np.any(ref):
        # The challenge's references always hold both structures; distances to nothing are
        # undefined, so they are NaN here (and flagged by the caller) instead of a crash.
        return {"dice": smoothed_dice(pred, ref), "hd": math.nan, "asd": math.nan}
    pred = pred.astype(bool, copy=False)
    ref = ref.astype(bool, copy=False)
    window = _crop_window(pred, ref)
    pred_c, ref_c = pred[window], ref[window]
    sq_pred = _squared_signed_maurer(pred_c)
    sq_ref = _squared_signed_maurer(ref_c)
    return {
        "dice": smoothed_dice(pred, ref),
        "hd": _hausdorff_from_maps(pred_c, ref_c, sq_pred, sq_ref),
        "asd": _asd_from_maps(sq_pred, sq_ref, pred.shape, window),
    }


# --------------------------------------------------------------------------------------------
# Angle of progression

RotatedRect = tuple[tuple[float, float], tuple[float, float], float]


def fit_structure_ellipse(mask: np.ndarray) -> RotatedRect | None:
    """The challenge's ellipse for one structure, as OpenCV's ((cx, cy), (w, h), angle_deg).

    Outer contours (every point kept); the one with most points (first on ties) is simplified
    with approxPolyDP (epsilon 1 px, closed) and fitted when more than 5 vertices remain.
    """
    img = np.ascontiguousarray(mask, dtype=np.uint8) * 255
    contours, _ = cv2.findContours(img, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    largest = contours[0]
    for contour in contours[1:]:
        if contour.shape[0] > largest.shape[0]:
            largest = contour
    polygon = cv2.approxPolyDP(largest, 1, closed=True)
    if polygon.shape[0] <= 5:
        return None
    (cx, cy), (w, h), angle = cv2.fitEllipse(polygon)
    return (float(cx), float(cy)), (float(w), float(h)), float(angle)


def ps_axis_endpoints(ps: RotatedRect) -> tuple[tuple[float, float], tuple[float, float]]:
    """Ends of the PS ellipse axis the challenge uses: OpenCV's second axis (length h), at
    angle (angle - 90) degrees. Returns (far end, AoP vertex end)."""
    (cx, cy), (_w, h), angle = ps
    theta = (angle - 90.0) * _PS_DEG_TO_RAD
    half = h / 2.0
    far = (cx - half * math.cos(theta), cy - half * math.sin(theta))
    vertex = (cx + half * math.cos(theta), cy + half * math.sin(theta))
    return far, vertex


def fh_tangent_point(fh: RotatedRect, point: tuple[float, float]) -> tuple[float, float]:
    """Where a tangent from `point` touches the FH ellipse (the challenge's choice of root).

    In the ellipse's own frame (semi-axes a = h/2 along x, b = w/2; rotation (angle - 90)
    degrees), the tangents y = k x + c through (x0, y0) have
    k = (x0 y0 - sqrt(b^2 x0^2 + a^2 y0^2 - a^2 b^2)) / (x0^2 - a^2); a point inside the
    ellipse (negative root) gets k = 0, and x0^2 = a^2 is nudged by x0 += 1, as the challenge
    does. The touching point is the double root of the line-ellipse intersection,
    x = -(2 k c / b^2) / (2 (1/a^2 + k^2/b^2)), y = k x + c.
    """
    (fx, fy), (w, h), angle = fh
    a, b = h / 2.0, w / 2.0
    phi = 2.0 * math.pi * (angle - 90.0) / 360.0
    dx, dy = point[0] - fx, point[1] - fy
    cos_p, sin_p = math.cos(phi), math.sin(phi)
    x0 = cos_p * dx + sin_p * dy  # rotate by -phi into the ellipse frame
    y0 = -sin_p * dx + cos_p * dy
    if x0**2 - a**2 == 0:
        x0 += 1.0
    disc = b**2 * x0**2 + a**2 * y0**2 - a**2 * b**2
    k = (x0 * y0 - math.sqrt(disc)) / (x0**2 - a**2) if disc >= 0 else 0.0
    c = y0 - k * x0
    tx = (-2.0 * k * c / b**2) / (2.0 * (1.0 / a**2 + k**2 / b**2))
    ty = k * tx + c
    return (cos_p * tx - sin_p * ty + fx, sin_p * tx + cos_p * ty + fy)


def angle_at(vertex, p1, p2) -> float:
    """Angle p1-vertex-p2 in degrees by the law of cosines (the challenge's formulation)."""
    d_v1 = math.dist(vertex, p1)
    d_v2 = math.dist(vertex, p2)
    d_12 = math.dist(p1, p2)
    if d_v1 == 0 or d_v2 == 0:
        return 0.0  # degenerate geometry: the challenge would divide by zero
    cos_angle = (d_v1**2 + d_v2**2 - d_12**2) / (2 * d_v1 * d_v2)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos_angle))))


def angle_of_progression(label_map: np.ndarray) -> float:
    """AoP in degrees from a label map (1 = PS, 2 = FH); 0.0 when either ellipse is missing.

    It is the angle, at one end of the PS axis (`ps_axis_endpoints`), between the PS axis and
    the tangent from that end to the fetal head ellipse.
    """
    ps = fit_structure_ellipse(label_map == PS_VALUE)
    fh = fit_structure_ellipse(label_map == FH_VALUE)
    if ps is None or fh is None:
        return 0.0
    far, vertex = ps_axis_endpoints(ps)
    tangent = fh_tangent_point(fh, vertex)
    return angle_at(vertex, far, tangent)


# --------------------------------------------------------------------------------------------
# One case and the whole submission


def case_score(pred: np.ndarray, ref: np.ndarray) -> tuple[dict[str, dict[str, float]], list[str]]:
    """All per-case values: {"ps"|"fh"|"all": {dice, hd, asd}, "aop": {...}, "challenge": {score}}.

    Returns (metrics, flags); flags name the groups with empty predictions or references.
    """
    pred = np.asarray(pred)
    ref = np.asarray(ref)
    masks = {
        "ps": (pred == PS_VALUE, ref == PS_VALUE),
        "fh": (pred == FH_VALUE, ref == FH_VALUE),
        "all": ((pred == PS_VALUE) | (pred == FH_VALUE), (ref == PS_VALUE) | (ref == FH_VALUE)),
    }
    metrics: dict[str, dict[str, float]] = {}
    flags: list[str] = []
    for group, (p, r) in masks.items():
        metrics[group] = group_scores(p, r)
        if not p.any():
            flags.append(f"{group}:empty_prediction")
        if not r.any():
            flags.append(f"{group}:empty_reference")
    aop_pred = angle_of_progression(pred)
    aop_ref = angle_of_progression(ref)
    metrics["aop"] = {
        "aop_pred": aop_pred,
        "aop_ref": aop_ref,
        "aop_abs_diff": abs(aop_pred - aop_ref),
    }
    metrics["challenge"] = {"score": per_case_score(metrics)}
    return metrics, flags


def per_case_score(metrics: dict[str, dict[str, float]]) -> float:
    """One case's share of S; the mean over cases of this value is S."""
    dice = np.mean([metrics[g]["dice"] for g in GROUPS])
    hd = np.mean([metrics[g]["hd"] for g in GROUPS])
    asd = np.mean([metrics[g]["asd"] for g in GROUPS])
    aop = metrics["aop"]["aop_abs_diff"]
    return float(
        0.25 * dice + 0.25 * (0.5 * (1 - hd / 100) + 0.5 * (1 - asd / 100)) + 0.5 * (1 - aop / 180)
    )


def challenge_score(cases: list[dict[str, dict[str, float]]]) -> float:
    """S over many cases exactly as the challenge computed it (means rounded to 8 decimals)."""
    if not cases:
        return math.nan
    n = len(cases)
    mdsc = sum(c[g]["dice"] for c in cases for g in GROUPS) / (3 * n)
    mhd = sum(c[g]["hd"] for c in cases for g in GROUPS) / (3 * n)
    masd = sum(c[g]["asd"] for c in cases for g in GROUPS) / (3 * n)
    maop = sum(c["aop"]["aop_abs_diff"] for c in cases) / n
    return (
        0.25 * round(mdsc, 8)
        + 0.125 * (1 - round(mhd / 100.0, 8))
        + 0.125 * (1 - round(masd / 100.0, 8))
        + 0.5 * (1 - maop / 180.0)
    )


class Psfhs2023Scorer(SegmentationScorer):
    """The standard segmentation pipeline with the challenge's per-case formulas."""

    name = "psfhs2023"
    #: What a psfhs2023 task may list in `metrics` (it always computes all of them).
    metrics = GROUP_METRICS
    #: The predicted and reference angles are measurements (no better side).
    extra_metrics = {"aop_pred": None, "aop_ref": None, "aop_abs_diff": False, "score": True}
    #: Distances stay in pixels, as the challenge's own script reports them.
    distance_unit = "px"

    def check(self, task) -> str | None:
        if [(c.name, c.value) for c in task.classes] != [("ps", PS_VALUE), ("fh", FH_VALUE)]:
            return "the psfhs2023 scorer needs classes ps = 1 and fh = 2, as in PSFHS"
        return None

    def metric_paths(self, task) -> list[str]:
        return metric_paths()

    def case_metrics(self, task, case):
        return case_score(case.pred, case.ref)  # in pixels: spacing plays no part


SCORER = Psfhs2023Scorer()
