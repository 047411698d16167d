"""Boundary IoU with a band width in mm, for 2-D masks with (row_mm, col_mm) spacing.

Boundary IoU (Cheng, Girshick, Dollár, Berg, Kirillov, "Boundary IoU: Improving Object-Centric
Image Segmentation Evaluation", CVPR 2021; reference code github.com/bowenc0221/boundary-iou-api;
recommended for semantic segmentation by Metrics Reloaded, Maier-Hein et al., Nat Methods 2024)
is the IoU of the two masks' inner boundary bands::

    BIoU = |(G_d ∩ G) ∩ (P_d ∩ P)| / |(G_d ∩ G) ∪ (P_d ∩ P)|

where ``G_d ∩ G`` are the pixels of G within distance ``d`` of G's contour. Here:

- ``d`` is in mm and the distance is Euclidean between pixel centres with the pixel spacing:
  a pixel of G is in the band when some pixel outside G (beyond the image counts as outside)
  is at most ``d`` (+1e-9 mm, see `surface_dice.TOLERANCE_SLACK_MM`) away. On a straight edge
  the band is ``d / spacing`` pixels deep, as in the reference code.
- The band always holds the mask's border (pixels with a background 4-neighbour, the border
  HD/HD95 use), so that a ``d`` below the pixel size gives the one-pixel border instead of an
  empty band, as the reference code's "at least one pixel".

The reference code erodes the mask ``round(0.02 * image diagonal)`` times with a 3x3 square
(``cv2.erode``), i.e. it measures the chessboard distance in pixels. That differs from the
Euclidean one near corners and along slanted edges; both agree on axis-parallel edges, and
for every shape at ``d = sqrt(2)`` pixels vs the reference's one erosion. A fraction of the
image diagonal also makes the band's physical width depend on each image's size and pixel
spacing (19 pixels on an 800x540 HC18 image: 1.0-6.1 mm over the HC18 images), which is
why a task here sets ``d`` in mm. docs/metrics.md gives numbers.

Empty masks follow the evaluator's policy (docs/metrics.md): both empty 1.0, one empty 0.0.
"""

from __future__ import annotations

import math

import numpy as np

from evaluator.metrics.compiled import kernel
from evaluator.metrics.segmentation import _as_mask, _check_spacing
from evaluator.metrics.surface import union_bounding_box
from evaluator.metrics.surface_dice import TOLERANCE_SLACK_MM


def _check_distance(distance_mm: float) -> float:
    """The band width as a float; it must be finite and not negative."""
    try:
        distance = float(distance_mm)
    except (TypeError, ValueError):
        raise ValueError(f"distance_mm must be a number, got {distance_mm!r}") from None
    if not (math.isfinite(distance) and distance >= 0):
        raise ValueError(f"distance_mm must be finite and not negative, got {distance_mm!r}")
    return distance


def _band_widths(spacing: tuple[float, float], reach: float, rows: int, cols: int) -> np.ndarray:
    """Per vertical gap ``g`` (rows) to an outside pixel, how many columns ``k`` either side
    it reaches: the largest ``k`` with ``sqrt((k * col_mm)**2 + (g * row_mm)**2) <= reach``
    in float64, -1 if none; ``g`` runs to the last that reaches, at most ``rows``, and ``k``
    is at most ``cols`` (the kernel needs no more)."""
    row_mm, col_mm = spacing
    dy = np.arange(min(int(reach / row_mm), rows) + 1) * row_mm
    dy = dy[dy <= reach]
    if dy.size == 0:
        return np.array([-1], dtype=np.int64)
    k = np.minimum(np.sqrt(np.maximum(reach * reach - dy * dy, 0.0)) // col_mm, cols)
    k = k.astype(np.int64)
    # The square root above may round either way: settle each k by the distance itself.
    while (too_far := (k >= 0) & (np.sqrt((k * col_mm) ** 2 + dy * dy) > reach)).any():
        k[too_far] -= 1
    while (room := (k < cols) & (np.sqrt(((k + 1) * col_mm) ** 2 + dy * dy) <= reach)).any():
        k[room] += 1
    return k


@kernel
def _band_kernel(padded, widths, band):  # pragma: no cover - compiled
    """Write the inner band of a uint8 0/1 mask whose outermost rows and columns are 0.

    A pixel is within reach of the outside when some column holds an outside pixel close
    enough: per column, the vertical gap (rows) to its nearest outside pixel comes from one
    sweep down and one up (the first pass of a separable EDT); a gap ``g`` then reaches
    ``widths[g]`` columns either side, which each row marks with a difference array (+1
    where a reach starts, -1 after it ends), so the cost is O(pixels) whatever the width.
    Pixels with an outside 4-neighbour are in the band whatever the width.
    """
    h, w = padded.shape
    last_gap = widths.size - 1
    gaps = np.empty((h, w), dtype=np.int32)
    gaps[0, :] = 0
    for i in range(1, h):
        for j in range(w):
            gaps[i, j] = 0 if padded[i, j] == 0 else min(gaps[i - 1, j] + 1, h)
    for i in range(h - 2, -1, -1):
        for j in range(w):
            gaps[i, j] = min(gaps[i, j], gaps[i + 1, j] + 1)
    cover = np.empty(w + 1, dtype=np.int64)
    for i in range(1, h - 1):
        cover[:] = 0
        for j in range(w):
            gap = gaps[i, j]
            if gap <= last_gap:
                k = widths[gap]
                if k >= 0:
                    cover[max(0, j - k)] += 1
                    cover[min(w, j + k + 1)] -= 1
        run = 0
        for j in range(w):
            run += cover[j]
            if padded[i, j] != 0:
                band[i, j] = (
                    run > 0 or gaps[i, j] == 1 or padded[i, j - 1] == 0 or padded[i, j + 1] == 0
                )


def _widths(shape: tuple[int, int], spacing: tuple[float, float], distance: float) -> np.ndarray:
    """`_band_widths` for bands of width ``distance`` mm in an image of ``shape``."""
    return _band_widths(spacing, distance + TOLERANCE_SLACK_MM, shape[0] + 2, shape[1] + 2)


def _padded(mask: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """The box of ``mask`` as uint8 0/1 with a one-pixel frame of zeros around it."""
    box = mask[rows, cols]
    padded = np.zeros((box.shape[0] + 2, box.shape[1] + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = box
    return padded


def _box_band(mask: np.ndarray, box: tuple[slice, slice], widths: np.ndarray) -> np.ndarray:
    """The band of a mask whose foreground lies in ``box``, in box coordinates."""
    padded = _padded(mask, *box)
    band = np.zeros(padded.shape, dtype=np.bool_)
    _band_kernel(padded, widths, band)
    return band[1:-1, 1:-1]


def boundary_band(mask: np.ndarray, spacing: tuple[float, float], distance_mm: float) -> np.ndarray:
    """``G_d ∩ G`` of one 2-D mask (bool, same shape): its pixels within ``distance_mm`` of
    the outside, plus its border (see the module docstring)."""
    mask = _as_mask(mask, "mask")
    spacing = _check_spacing(spacing)
    distance = _check_distance(distance_mm)
    band = np.zeros(mask.shape, dtype=bool)
    box = union_bounding_box(mask, mask)
    if box is not None:
        band[box] = _box_band(mask, box, _widths(mask.shape, spacing, distance))
    return band


def boundary_iou(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float], distance_mm: float
) -> float:
    """Boundary IoU of two 2-D masks of one shape with bands ``distance_mm`` wide.

    ``spacing`` is ``(row_mm, col_mm)``. 1.0 when both masks are empty, 0.0 when one is.
    With spacing (1, 1) it equals the reference code's ``boundary_iou(gt, dt)`` at
    ``dilation = distance_mm`` pixels on axis-parallel rectangles (see the module docstring).
    """
    pred = _as_mask(pred, "prediction")
    ref = _as_mask(ref, "reference")
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    spacing = _check_spacing(spacing)
    distance = _check_distance(distance_mm)
    # Each band on its own mask's box (a band lies inside its mask): a stray blob far from
    # the reference does not make the reference's band cost the whole union box.
    pred_box = union_bounding_box(pred, pred)
    ref_box = union_bounding_box(ref, ref)
    if pred_box is None or ref_box is None:
        return 1.0 if pred_box is None and ref_box is None else 0.0
    widths = _widths(pred.shape, spacing, distance)
    pred_band = _box_band(pred, pred_box, widths)
    ref_band = _box_band(ref, ref_box, widths)
    shared = 0
    rows = slice(max(pred_box[0].start, ref_box[0].start), min(pred_box[0].stop, ref_box[0].stop))
    cols = slice(max(pred_box[1].start, ref_box[1].start), min(pred_box[1].stop, ref_box[1].stop))
    if rows.start < rows.stop and cols.start < cols.stop:
        shared = np.count_nonzero(
            _cut(pred_band, pred_box, rows, cols) & _cut(ref_band, ref_box, rows, cols)
        )
    return shared / (np.count_nonzero(pred_band) + np.count_nonzero(ref_band) - shared)


def _cut(band: np.ndarray, box: tuple[slice, slice], rows: slice, cols: slice) -> np.ndarray:
    """The part of a band computed on ``box`` that lies in the image region (rows, cols)."""
    top, left = box[0].start, box[1].start
    return band[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
