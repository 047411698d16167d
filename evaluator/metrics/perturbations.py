"""Deterministic perturbations of a reference mask: realistic wrong predictions.

The oracle tests and the benchmark score these against the reference, so they exercise the
errors segmentation models actually make: a contour a few pixels off, over- and
under-segmentation, holes, stray false-positive blobs, and structures cut by the image border.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

Perturbation = Callable[[np.ndarray], np.ndarray]


def shifted(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The mask moved by (dy, dx) pixels; what leaves the image is lost (no wrap-around)."""
    rows, cols = mask.shape
    out = np.zeros_like(mask)
    src_r = slice(max(0, -dy), min(rows, rows - dy))
    src_c = slice(max(0, -dx), min(cols, cols - dx))
    dst_r = slice(max(0, dy), min(rows, rows + dy))
    dst_c = slice(max(0, dx), min(cols, cols + dx))
    out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dilated(mask: np.ndarray, radius: int) -> np.ndarray:
    """Over-segmentation: the mask grown by a disk of `radius` pixels."""
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)).astype(bool)


def eroded(mask: np.ndarray, radius: int) -> np.ndarray:
    """Under-segmentation: the mask shrunk by a disk of `radius` pixels."""
    return cv2.erode(mask.astype(np.uint8), _disk(radius)).astype(bool)


def _centroid(mask: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(mask)
    return int(ys.mean()), int(xs.mean())


def with_hole(mask: np.ndarray, fraction: float = 0.3) -> np.ndarray:
    """A hole (disk) punched at the centroid, `fraction` of the mask's equivalent radius."""
    out = mask.astype(np.uint8)
    cy, cx = _centroid(mask)
    radius = max(1, int(fraction * np.sqrt(np.count_nonzero(mask) / np.pi)))
    cv2.circle(out, (cx, cy), radius, 0, thickness=-1)
    return out.astype(bool)


def with_stray_blob(mask: np.ndarray, radius: int = 6) -> np.ndarray:
    """A false-positive disk added in the image corner farthest from the mask's centroid."""
    out = mask.astype(np.uint8)
    rows, cols = mask.shape
    cy, cx = _centroid(mask)
    by = radius + 2 if cy > rows / 2 else rows - radius - 3
    bx = radius + 2 if cx > cols / 2 else cols - radius - 3
    cv2.circle(out, (bx, by), radius, 1, thickness=-1)
    return out.astype(bool)


def cut_by_border(mask: np.ndarray) -> np.ndarray:
    """The mask moved towards the nearer side edge until a third of its width is cut off."""
    ys, xs = np.nonzero(mask)
    width = xs.max() - xs.min() + 1
    cols = mask.shape[1]
    if xs.mean() < cols / 2:
        return shifted(mask, 0, -(xs.min() + width // 3))
    return shifted(mask, 0, (cols - 1 - xs.max()) + width // 3)


def shifted_and_dilated(mask: np.ndarray) -> np.ndarray:
    """A contour both off-centre and too large: shifted by (4, 1) then dilated by 1 pixel."""
    return dilated(shifted(mask, 4, 1), 1)


#: Named perturbations (picklable), each applied to a reference to give a prediction., each applied to a reference to give a prediction.
PERTURBATIONS: dict[str, Perturbation] = {
    "identity": np.copy,
    "shift_small": partial(shifted, dy=2, dx=-3),
    "shift_large": partial(shifted, dy=-11, dx=14),
    "dilate": partial(dilated, radius=3),
    "erode": partial(eroded, radius=2),
    "hole": with_hole,
    "stray_blob": with_stray_blob,
    "shift_dilate": shifted_and_dilated,
    "cut_by_border": cut_by_border,
}
