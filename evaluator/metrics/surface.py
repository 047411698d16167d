"""Surface (border) distances between two 2-D masks, exactly as medpy 0.5.2 defines them.

medpy computes, per call and per direction, a binary erosion and a Euclidean distance transform
(EDT) of the whole image. Only border pixels matter, so this module:

1. crops both masks to the bounding box of their union. This is exact: erosion with the
   4-connected cross only looks at direct neighbours, and every pixel outside the box is
   background, so a neighbour outside the crop is background whether it is inside the image
   (it is outside the union) or beyond the image edge (scipy's default ``border_value=0``).
   Zero-padding the crop by one pixel therefore reproduces medpy's erosion pixel for pixel;
2. extracts each border once (mask AND NOT eroded mask) with array shifts;
3. finds each border pixel's nearest partner on the other border with a k-d tree over the
   border coordinates scaled to millimetres. The nearest border pixel of a set is the minimum
   of the EDT of its complement, so this equals medpy's ``distance_transform_edt(~border,
   sampling=spacing)[other_border]`` up to floating-point rounding (~1e-12 mm).

All metrics are then derived from one pair of directed distance arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree


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


def border_mask(mask: np.ndarray) -> np.ndarray:
    """The mask's border (boolean, same shape): mask XOR its 4-connected erosion.

    Equivalent to medpy's ``mask ^ binary_erosion(mask, generate_binary_structure(2, 1))`` with
    pixels outside the array counted as background (scipy's ``border_value=0``).
    """
    rows, cols = mask.shape
    padded = np.zeros((rows + 2, cols + 2), dtype=bool)
    padded[1:-1, 1:-1] = mask
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1]
    interior &= padded[1:-1, :-2]
    interior &= padded[1:-1, 2:]
    interior &= mask
    return mask > interior


def _coordinates_mm(flat_index: np.ndarray, width: int, spacing: tuple[float, float]) -> np.ndarray:
    """N x 2 physical (row_mm, col_mm) coordinates of flat pixel indices in an array `width` wide."""
    rows, cols = np.divmod(flat_index, width)
    coords = np.empty((len(flat_index), 2), dtype=np.float64)
    coords[:, 0] = rows
    coords[:, 0] *= spacing[0]
    coords[:, 1] = cols
    coords[:, 1] *= spacing[1]
    return coords


def _nearest_distances(
    query_index: np.ndarray,
    query_mm: np.ndarray,
    target_border_flat: np.ndarray,
    target_mm: np.ndarray,
) -> np.ndarray:
    """Distance from each query pixel to its nearest target pixel.

    Pixels that lie on both borders are at distance 0 and skip the tree; the rest are looked
    up in a k-d tree built on the target border.
    """
    distances = np.zeros(len(query_index), dtype=np.float64)
    todo = ~target_border_flat[query_index]
    if todo.any():
        tree = cKDTree(target_mm, balanced_tree=False, compact_nodes=False)
        distances[todo] = tree.query(query_mm[todo])[0]
    return distances


def directed_surface_distances(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float]
) -> DirectedDistances:
    """Both directed border-distance arrays for two non-empty boolean 2-D masks of one shape."""
    box = union_bounding_box(pred, ref)
    if box is None:
        raise ValueError("both masks are empty: surface distances are undefined")
    pred_crop, ref_crop = pred[box], ref[box]
    width = pred_crop.shape[1]
    pred_border_flat = border_mask(pred_crop).ravel()
    ref_border_flat = border_mask(ref_crop).ravel()
    pred_border = np.flatnonzero(pred_border_flat)
    ref_border = np.flatnonzero(ref_border_flat)
    if len(pred_border) == 0 or len(ref_border) == 0:
        raise ValueError("an empty mask has no border: surface distances are undefined")
    pred_mm = _coordinates_mm(pred_border, width, spacing)
    ref_mm = _coordinates_mm(ref_border, width, spacing)
    return DirectedDistances(
        pred_to_ref=_nearest_distances(pred_border, pred_mm, ref_border_flat, ref_mm),
        ref_to_pred=_nearest_distances(ref_border, ref_mm, pred_border_flat, pred_mm),
    )


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (default linear method) via a partial sort.

    Same virtual index and interpolation as NumPy's ``linear`` method, including its
    symmetric lerp, but skips ``np.percentile``'s generic machinery (a third of a case's time).
    """
    n = len(values)
    position = q / 100.0 * (n - 1)
    lower = int(np.floor(position))
    upper = min(lower + 1, n - 1)
    fraction = position - lower
    part = np.partition(values, (lower, upper)) if upper != lower else np.partition(values, lower)
    a, b = float(part[lower]), float(part[upper])
    diff = b - a
    return b - diff * (1.0 - fraction) if fraction >= 0.5 else a + diff * fraction
