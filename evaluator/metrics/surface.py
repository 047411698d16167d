"""Surface (border) distances between two 2-D masks, exactly as medpy 0.5.2 defines them.

medpy computes, per call and per direction, a binary erosion and a Euclidean distance transform
(EDT) of the whole image. Only border pixels matter, so this module, in compiled (numba) loops:

1. works on the bounding box of the union of both masks only. This is exact: erosion with the
   4-connected cross only looks at direct neighbours, and every pixel outside the box is
   background, so a neighbour outside the box is background whether it is inside the image
   (it is outside the union) or beyond the image edge (scipy's default ``border_value=0``);
2. extracts both borders (a foreground pixel with a background 4-neighbour) in one pass over
   the box rows, counting both masks and their overlap on the way;
3. per direction, sweeps down the rows keeping, per column, the last border row at or above
   the current row and the next one below (the per-column pass of a separable EDT, kept
   only where needed), and for each query border pixel scans columns outwards from its own:
   a column ``k`` pixels away holds nothing nearer than ``k * col_mm``, so the scan stops
   as soon as that reaches the best distance found. This is the exact EDT value at the
   query pixel (the per-row pass of a separable EDT, evaluated only there), so it equals
   medpy's ``distance_transform_edt(~border, sampling=spacing)[other_border]`` up to
   floating-point rounding (~1e-15 mm).

A border pixel whose partner is ``d`` pixels away costs about ``2 d`` look-ups and no
box-sized array is allocated, so a well-aligned and a badly misplaced prediction cost about the
same. All metrics are then derived from the one pair of directed distance arrays
(``_distance_summary``; ``surface_scores`` does everything in one compiled call).

The kernels are compiled on first use and cached next to this file (``cache=True``); where
that folder is read-only numba falls back to its per-user cache directory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from evaluator.metrics.compiled import kernel

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


@kernel
def _border_row(mask, y, c0, c1, first_or_last_row, out):  # pragma: no cover - compiled
    """Border flags (0/1) of image row `y` inside the box columns c0:c1, written to `out`.

    A border pixel is a foreground pixel with a background 4-neighbour; neighbours outside
    the box count as background (exact, see the module docstring), so the box's first and
    last rows and columns are border wherever they are foreground. `mask` is uint8 0/1; the
    loop runs on 1-D row slices without branches so that the compiler vectorises it.
    """
    w = c1 - c0
    row = mask[y, c0:c1]
    if first_or_last_row or w <= 2:
        out[:] = row
        return
    up = mask[y - 1, c0 + 1 : c1 - 1]
    down = mask[y + 1, c0 + 1 : c1 - 1]
    left = row[: w - 2]
    right = row[2:]
    centre = row[1 : w - 1]
    inner = out[1 : w - 1]
    for j in range(w - 2):
        inner[j] = centre[j] & ~(up[j] & down[j] & left[j] & right[j])
    out[0] = row[0]
    out[w - 1] = row[w - 1]


@kernel
def _append_flagged(flags, words, base, pixels, count):  # pragma: no cover - compiled
    """Append `base + j` to `pixels[count:]` for every j with flags[j] != 0; the new count.

    Borders are sparse, so 8 flags at a time are skipped while all zero (`words` is the
    uint64 view of the flags' first multiple of 8); inside a non-zero word the compaction
    is branch-free (write always, advance on a flag).
    """
    for q in range(words.size):
        if words[q] != 0:
            for j in range(8 * q, 8 * q + 8):
                pixels[count] = base + j
                count += flags[j]
    for j in range(8 * words.size, flags.size):
        pixels[count] = base + j
        count += flags[j]
    return count


@kernel
def _box_borders(pred, ref, r0, r1, c0, c1):  # pragma: no cover - compiled
    """Mask sizes, overlap and both borders (row-major flat box indices) in one pass.

    `pred` and `ref` are uint8 0/1 images; every foreground pixel lies inside the box.
    """
    h, w = r1 - r0, c1 - c0
    pred_row = np.empty(w, dtype=np.uint8)
    ref_row = np.empty(w, dtype=np.uint8)
    pred_words = pred_row[: (w // 8) * 8].view(np.uint64)
    ref_words = ref_row[: (w // 8) * 8].view(np.uint64)
    # Capacity h * w + 1: the branch-free compaction writes one slot past the last border pixel.
    pred_pixels = np.empty(h * w + 1, dtype=np.int64)
    ref_pixels = np.empty(h * w + 1, dtype=np.int64)
    n_pred = 0
    n_ref = 0
    pred_size = 0
    ref_size = 0
    overlap = 0
    for i in range(h):
        y = r0 + i
        edge_row = i == 0 or i == h - 1
        _border_row(pred, y, c0, c1, edge_row, pred_row)
        _border_row(ref, y, c0, c1, edge_row, ref_row)
        p_row, r_row = pred[y, c0:c1], ref[y, c0:c1]
        row_pred = np.uint32(0)  # narrow per-row sums vectorise; rows are < 2**32 wide
        row_ref = np.uint32(0)
        row_overlap = np.uint32(0)
        for j in range(w):
            row_pred += p_row[j]
            row_ref += r_row[j]
            row_overlap += p_row[j] & r_row[j]
        pred_size += row_pred
        ref_size += row_ref
        overlap += row_overlap
        n_pred = _append_flagged(pred_row, pred_words, i * w, pred_pixels, n_pred)
        n_ref = _append_flagged(ref_row, ref_words, i * w, ref_pixels, n_ref)
    return pred_size, ref_size, overlap, pred_pixels[:n_pred], ref_pixels[:n_ref]


@kernel
def _nearest_distances(query, target, width, row_mm, col_mm):  # pragma: no cover - compiled
    """Exact distance (mm) from each query pixel to the nearest target pixel.

    Both are row-major flat indices into an array `width` wide. One sweep down the rows keeps,
    per column, the last target row at or above the current row and the next one below it
    (the first, per-column pass of a separable EDT, kept only where it is needed); each
    query pixel then scans columns outwards until the horizontal offset alone exceeds the
    best distance found (the second pass, evaluated only at the query pixels).
    """
    n_target = target.size
    # Per target pixel: the next target row below it in its column; per column: the first.
    next_in_column = np.empty(n_target, dtype=np.int32)
    following = np.full(width, _NO_BORDER, dtype=np.int32)
    for t in range(n_target - 1, -1, -1):
        i, j = divmod(target[t], width)
        next_in_column[t] = following[j]
        following[j] = i
    last = np.full(width, -_NO_BORDER, dtype=np.int32)
    distances = np.empty(query.size, dtype=np.float64)
    t = 0
    for n in range(query.size):
        i, j = divmod(query[n], width)
        row_end = (i + 1) * width
        while t < n_target and target[t] < row_end:
            column = target[t] % width
            last[column] = target[t] // width
            following[column] = next_in_column[t]
            t += 1
        best = np.inf
        gap = min(i - last[j], following[j] - i)
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
                gap = min(i - last[left], following[left] - i)
                if gap < _NO_BORDER_LIMIT:
                    dy = gap * row_mm
                    squared = dx2 + dy * dy
                    if squared < best:
                        best = squared
            if right < width:
                gap = min(i - last[right], following[right] - i)
                if gap < _NO_BORDER_LIMIT:
                    dy = gap * row_mm
                    squared = dx2 + dy * dy
                    if squared < best:
                        best = squared
            k += 1
        distances[n] = math.sqrt(best)
    return distances


@kernel
def _surface_kernel(pred, ref, r0, r1, c0, c1, row_mm, col_mm):  # pragma: no cover - compiled
    """(pred size, ref size, overlap, pred->ref distances, ref->pred distances) in one call.

    `pred` and `ref` are uint8 0/1 images. The distance arrays are empty when either mask is.
    """
    pred_size, ref_size, overlap, pred_pixels, ref_pixels = _box_borders(pred, ref, r0, r1, c0, c1)
    if pred_size == 0 or ref_size == 0:
        empty = np.empty(0, dtype=np.float64)
        return pred_size, ref_size, overlap, empty, empty.copy()
    width = c1 - c0
    forward = _nearest_distances(pred_pixels, ref_pixels, width, row_mm, col_mm)
    backward = _nearest_distances(ref_pixels, pred_pixels, width, row_mm, col_mm)
    return pred_size, ref_size, overlap, forward, backward


@kernel
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


@kernel
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


@kernel
def _score_kernel(pred, ref, r0, r1, c0, c1, row_mm, col_mm):  # pragma: no cover - compiled
    """Sizes, overlap and (hd, hd95, hd95_max, assd, masd) in one dispatch from Python.

    The five distances are 0 when either mask is empty (the caller flags those cases).
    """
    pred_size, ref_size, overlap, forward, backward = _surface_kernel(
        pred, ref, r0, r1, c0, c1, row_mm, col_mm
    )
    if pred_size == 0 or ref_size == 0:
        return pred_size, ref_size, overlap, 0.0, 0.0, 0.0, 0.0, 0.0
    hd, hd95, hd95_max, assd, masd = _distance_summary(forward, backward)
    return pred_size, ref_size, overlap, hd, hd95, hd95_max, assd, masd


# --------------------------------------------------------------------------------------------
# Python interface


class SurfaceScores(NamedTuple):
    """What `score_class` needs, from one compiled call (a named tuple: cheap to build)."""

    pred_size: int
    ref_size: int
    overlap: int
    hd: float
    hd95: float
    hd95_max: float
    assd: float
    masd: float


def _kernel_arguments(
    pred: np.ndarray, ref: np.ndarray, box: tuple[slice, slice], spacing: tuple[float, float]
) -> tuple:
    """What both kernels take: the masks as uint8 views, the union box's row and column
    bounds, and the spacing (row_mm, col_mm) as floats."""
    rows, cols = box
    return (
        pred.view(np.uint8),
        ref.view(np.uint8),
        rows.start,
        rows.stop,
        cols.start,
        cols.stop,
        float(spacing[0]),
        float(spacing[1]),
    )


def surface_scores(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]
) -> SurfaceScores | None:
    """Mask sizes, overlap and the five distance metrics (mm) of two boolean C-contiguous
    2-D masks of one shape; None when both are empty. The distances are 0 when one is empty.
    """
    box = union_bounding_box(pred, ref)
    if box is None:
        return None
    return SurfaceScores(*_score_kernel(*_kernel_arguments(pred, ref, box, spacing)))


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
    pred_size, ref_size, overlap, forward, backward = _surface_kernel(
        *_kernel_arguments(pred, ref, box, spacing)
    )
    return SurfaceStatistics(
        int(pred_size), int(ref_size), int(overlap), DirectedDistances(forward, backward)
    )


def directed_surface_distances(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]
) -> DirectedDistances:
    """Both directed border-distance arrays for two non-empty boolean 2-D masks of one shape."""
    stats = surface_statistics(
        np.ascontiguousarray(pred, dtype=bool), np.ascontiguousarray(ref, dtype=bool), spacing
    )
    if stats.pred_size == 0 or stats.ref_size == 0:
        raise ValueError("an empty mask has no border: surface distances are undefined")
    return stats.distances


def border_mask(mask: np.ndarray) -> np.ndarray:
    """The mask's border (boolean, same shape): mask XOR its 4-connected erosion."""
    mask = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    rows, cols = mask.shape
    border = np.empty(mask.shape, dtype=np.uint8)
    for row in range(rows):
        _border_row(mask, row, 0, cols, row in (0, rows - 1), border[row])
    return border.view(bool)


def nearest_border_distances(
    query: np.ndarray, target: np.ndarray, spacing: tuple[float, float]
) -> np.ndarray:
    """Distance (mm) from each foreground pixel of `query` (row-major) to the nearest
    foreground pixel of `target` (non-empty): the exact EDT of ``~target`` at those pixels."""
    width = np.shape(target)[1]
    return _nearest_distances(
        np.flatnonzero(query).astype(np.int64),
        np.flatnonzero(target).astype(np.int64),
        width,
        float(spacing[0]),
        float(spacing[1]),
    )


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (default linear method) via a partial sort."""
    return float(_percentile(np.asarray(values, dtype=np.float64), float(q)))
