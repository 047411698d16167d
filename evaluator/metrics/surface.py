"""Surface (border) distances between two 2-D masks, exactly as medpy 0.5.2 defines them.

medpy computes, per call and per direction, a binary erosion and a Euclidean distance transform
(EDT) of the whole image. Only border pixels matter, so this module, in compiled (numba) loops:

1. works on the bounding box of the union of both masks only. This is exact: erosion with the
   4-connected cross only looks at direct neighbours, and every pixel outside the box is
   background, so a neighbour outside the box is background whether it is inside the image
   (it is outside the union) or beyond the image edge (scipy's default ``border_value=0``);
2. extracts each border once (a foreground pixel with a background 4-neighbour), counting
   both masks and their overlap in the same pass;
3. for each border, records per pixel of the box the row distance to the nearest border pixel
   of the same column (two sweeps, the first pass of a separable EDT);
4. finds each border pixel's nearest partner on the other border by scanning columns outwards
   from its own: a column ``k`` pixels away holds nothing nearer than ``k * col_mm``, so the
   scan stops as soon as that exceeds the best distance found. This is the exact EDT value
   at the border pixel (the second, per-row pass of a separable EDT, evaluated only where it
   is needed), so it equals medpy's ``distance_transform_edt(~border, sampling=spacing)
   [other_border]`` up to floating-point rounding (~1e-15 mm).

A border pixel whose partner is ``d`` pixels away costs about ``2 d`` table look-ups, and the
sweeps cost a few nanoseconds per pixel of the box, so a well-aligned and a badly misplaced
prediction cost about the same. All metrics are then derived from one pair of directed
distance arrays (``distance_summary``).

The kernels are compiled on first use and cached next to this file (``cache=True``); where
that folder is read-only numba falls back to its per-user cache directory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numba import njit

#: Row distance recorded for a column without any border pixel (beyond every real one).
_NO_BORDER = 1 << 30
#: Row distances at or above this mean "no border pixel in this column".
_NO_BORDER_LIMIT = 1 << 29


@dataclass(frozen=True)
class DirectedDistances:
    """Distances (mm) from each border pixel of the prediction to the reference border and back.

    ``pred_to_ref`` is medpy's ``__surface_distances(pred, ref)``; ``ref_to_pred`` is
    ``__surface_distances(ref, pred)``. Both are in medpy's order (row-major over the image).
    """

    pred_to_ref: np.ndarray
    ref_to_pred: np.ndarray


def union_bounding_box(pred: np.ndarray, ref: np.ndarray) -> tuple[slice, slice] | None:
    """(rows, cols) slices of the smallest box holding every foreground pixel of both masks.

    None when both are empty. Uses OpenCV's bounding rectangle on the uint8 view of the union,
    an order of magnitude faster than ``np.any`` along both axes on an 800x540 image.
    """
    union = np.bitwise_or(pred, ref).view(np.uint8)
    x, y, w, h = cv2.boundingRect(union)
    if w == 0 or h == 0:
        return None
    return slice(y, y + h), slice(x, x + w)


# --------------------------------------------------------------------------------------------
# Compiled kernels. They take the whole boolean image plus the box (r0:r1, c0:c1), so that no
# non-contiguous view has to be made, and return arrays in box coordinates.


@njit(cache=True, nogil=True)
def _border_in_box(mask, r0, r1, c0, c1):  # pragma: no cover - compiled
    """Border map of `mask` inside the box, row-major flat indices of its pixels, mask size.

    A border pixel is a foreground pixel with a background 4-neighbour; neighbours outside
    the box count as background (exact, see the module docstring).
    """
    h, w = r1 - r0, c1 - c0
    border = np.zeros((h, w), dtype=np.uint8)
    pixels = np.empty(h * w, dtype=np.int64)
    count = 0
    size = 0
    for i in range(h):
        y = r0 + i
        inner_row = 0 < i < h - 1
        for j in range(w):
            x = c0 + j
            if mask[y, x]:
                size += 1
                interior = (
                    inner_row
                    and 0 < j < w - 1
                    and mask[y - 1, x]
                    and mask[y + 1, x]
                    and mask[y, x - 1]
                    and mask[y, x + 1]
                )
                if not interior:
                    border[i, j] = 1
                    pixels[count] = i * w + j
                    count += 1
    return border, pixels[:count], size


@njit(cache=True, nogil=True)
def _overlap_in_box(pred, ref, r0, r1, c0, c1):  # pragma: no cover - compiled
    """Number of pixels foreground in both masks (all of them lie inside the box)."""
    overlap = 0
    for y in range(r0, r1):
        for x in range(c0, c1):
            overlap += pred[y, x] & ref[y, x]
    return overlap


@njit(cache=True, nogil=True)
def _column_gaps(border):  # pragma: no cover - compiled
    """Per pixel: row distance to the nearest border pixel in the same column (two sweeps)."""
    h, w = border.shape
    gaps = np.empty((h, w), dtype=np.int32)
    last = np.full(w, -_NO_BORDER, dtype=np.int64)
    for i in range(h):
        for j in range(w):
            if border[i, j]:
                last[j] = i
            gaps[i, j] = min(i - last[j], _NO_BORDER)
    following = np.full(w, h + _NO_BORDER, dtype=np.int64)
    for i in range(h - 1, -1, -1):
        for j in range(w):
            if border[i, j]:
                following[j] = i
            gap = following[j] - i
            if gap < gaps[i, j]:
                gaps[i, j] = gap
    return gaps


@njit(cache=True, nogil=True)
def _nearest_distances(query, width, gaps, row_mm, col_mm):  # pragma: no cover - compiled
    """Exact distance (mm) from each query pixel (flat box index) to the nearest border pixel
    that `gaps` (from ``_column_gaps``) describes, by an outward column scan."""
    distances = np.empty(query.size, dtype=np.float64)
    for n in range(query.size):
        i, j = divmod(query[n], width)
        best = np.inf
        gap = gaps[i, j]
        if gap < _NO_BORDER_LIMIT:
            dy = gap * row_mm
            best = dy * dy
        k = 1
        while True:
            dx = k * col_mm
            dx2 = dx * dx
            left, right = j - k, j + k
            if dx2 >= best or (left < 0 and right >= width):
                break
            if left >= 0:
                gap = gaps[i, left]
                if gap < _NO_BORDER_LIMIT:
                    dy = gap * row_mm
                    squared = dx2 + dy * dy
                    if squared < best:
                        best = squared
            if right < width:
                gap = gaps[i, right]
                if gap < _NO_BORDER_LIMIT:
                    dy = gap * row_mm
                    squared = dx2 + dy * dy
                    if squared < best:
                        best = squared
            k += 1
        distances[n] = math.sqrt(best)
    return distances


@njit(cache=True, nogil=True)
def _surface_kernel(pred, ref, r0, r1, c0, c1, row_mm, col_mm):  # pragma: no cover - compiled
    """(pred size, ref size, overlap, pred->ref distances, ref->pred distances) in one call.

    The distance arrays are empty when either mask is.
    """
    pred_border, pred_pixels, pred_size = _border_in_box(pred, r0, r1, c0, c1)
    ref_border, ref_pixels, ref_size = _border_in_box(ref, r0, r1, c0, c1)
    overlap = _overlap_in_box(pred, ref, r0, r1, c0, c1)
    if pred_size == 0 or ref_size == 0:
        empty = np.empty(0, dtype=np.float64)
        return pred_size, ref_size, overlap, empty, empty.copy()
    width = c1 - c0
    forward = _nearest_distances(pred_pixels, width, _column_gaps(ref_border), row_mm, col_mm)
    backward = _nearest_distances(ref_pixels, width, _column_gaps(pred_border), row_mm, col_mm)
    return pred_size, ref_size, overlap, forward, backward


@njit(cache=True, nogil=True)
def _percentile(values, q):  # pragma: no cover - compiled
    """``np.percentile(values, q)`` (linear method, NumPy's symmetric lerp) by partitioning."""
    n = values.size
    position = q / 100.0 * (n - 1)
    lower = int(math.floor(position))
    fraction = position - lower
    part = np.partition(values, lower)
    a = part[lower]
    b = part[lower + 1 :].min() if lower + 1 < n else a
    diff = b - a
    if fraction >= 0.5:
        return b - diff * (1.0 - fraction)
    return a + diff * fraction


@njit(cache=True, nogil=True)
def _distance_summary(forward, backward):  # pragma: no cover - compiled
    """(hd, hd95, hd95_max, assd, masd) from both directed distance arrays (see segmentation)."""
    pooled = np.concatenate((forward, backward))
    forward_sum = forward.sum()
    backward_sum = backward.sum()
    hd = max(forward.max(), backward.max())
    hd95 = _percentile(pooled, 95.0)
    hd95_max = max(_percentile(forward, 95.0), _percentile(backward, 95.0))
    assd = (forward_sum + backward_sum) / pooled.size
    masd = (forward_sum / forward.size + backward_sum / backward.size) / 2.0
    return hd, hd95, hd95_max, assd, masd


# --------------------------------------------------------------------------------------------
# Python interface


@dataclass(frozen=True)
class SurfaceStatistics:
    """Everything `score_class` needs from one pass: mask sizes, overlap, directed distances."""

    pred_size: int
    ref_size: int
    overlap: int
    distances: DirectedDistances


def surface_statistics(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]
) -> SurfaceStatistics:
    """Sizes, overlap and both directed distance arrays of two boolean C-contiguous 2-D masks.

    The distance arrays are empty when either mask is (medpy raises there).
    """
    box = union_bounding_box(pred, ref)
    if box is None:
        empty = np.empty(0, dtype=np.float64)
        return SurfaceStatistics(0, 0, 0, DirectedDistances(empty, empty.copy()))
    rows, cols = box
    pred_size, ref_size, overlap, forward, backward = _surface_kernel(
        pred,
        ref,
        rows.start,
        rows.stop,
        cols.start,
        cols.stop,
        float(spacing[0]),
        float(spacing[1]),
    )
    return SurfaceStatistics(
        int(pred_size), int(ref_size), int(overlap), DirectedDistances(forward, backward)
    )


def directed_surface_distances(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]
) -> DirectedDistances:
    """Both directed border-distance arrays for two non-empty boolean 2-D masks of one shape."""
    stats = surface_statistics(np.ascontiguousarray(pred), np.ascontiguousarray(ref), spacing)
    if stats.pred_size == 0 or stats.ref_size == 0:
        raise ValueError("an empty mask has no border: surface distances are undefined")
    return stats.distances


def distance_summary(distances: DirectedDistances) -> tuple[float, float, float, float, float]:
    """(hd, hd95, hd95_max, assd, masd) in mm from two non-empty directed distance arrays."""
    hd, hd95, hd95_max, assd, masd = _distance_summary(distances.pred_to_ref, distances.ref_to_pred)
    return float(hd), float(hd95), float(hd95_max), float(assd), float(masd)


def border_mask(mask: np.ndarray) -> np.ndarray:
    """The mask's border (boolean, same shape): mask XOR its 4-connected erosion."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    rows, cols = mask.shape
    border, _, _ = _border_in_box(mask, 0, rows, 0, cols)
    return border.view(bool)


def nearest_border_distances(
    query: np.ndarray, target: np.ndarray, spacing: tuple[float, float]
) -> np.ndarray:
    """Distance (mm) from each foreground pixel of `query` (row-major) to the nearest
    foreground pixel of `target` (non-empty): the exact EDT of ``~target`` at those pixels."""
    target = np.ascontiguousarray(target, dtype=np.uint8)
    pixels = np.flatnonzero(query).astype(np.int64)
    gaps = _column_gaps(target)
    return _nearest_distances(pixels, target.shape[1], gaps, float(spacing[0]), float(spacing[1]))


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (default linear method) via a partial sort."""
    return float(_percentile(np.asarray(values, dtype=np.float64), float(q)))
