"""Normalised surface Dice (NSD) at a tolerance in mm, for 2-D masks with (row_mm, col_mm) spacing.

NSD (Nikolov et al. 2021, "Clinically applicable segmentation of head and neck anatomy for
radiotherapy", J Med Internet Res 23(7):e26151, arXiv:1809.04430; recommended for semantic
segmentation by Metrics Reloaded, Maier-Hein et al., Nat Methods 2024) is the fraction of both
boundaries together that lies within the tolerance ``tau`` of the other boundary::

    NSD = (|S_P within tau of S_R| + |S_R within tau of S_P|) / (|S_P| + |S_R|)

Two ways of measuring ``|S|`` are in use, and this module has both:

- `surface_dice` (the one a task ranks by): DeepMind's ``surface-distance`` library
  (``compute_surface_distances`` + ``compute_surface_dice_at_tolerance``), by the paper's
  authors. The boundary is the marching-squares contour: each pixel corner whose 2x2
  neighbourhood is neither all background nor all foreground holds a contour element whose
  length in mm (half a pixel diagonal, a whole pixel side, or two half diagonals for a saddle)
  comes from the neighbourhood code, and distances are between such corners. Each element
  counts by its length, so ``|S|`` is a length in mm: a boundary counts the same whichever
  way it runs and whatever the pixel spacing.
- `surface_dice_pixels`: the border pixels this evaluator's HD/HD95/ASSD use (mask XOR its
  4-connected erosion, pixel centres, exact to medpy 0.5.2), each counting 1. This is what
  the Metrics Reloaded package's ``normalised_surface_distance`` and MONAI's
  ``compute_surface_dice`` (without ``use_subvoxels``) compute. It has the property
  ``surface_dice_pixels == 1`` exactly when ``hd <= tau``, but a boundary's weight depends on
  its direction: on anisotropic pixels a millimetre of boundary along the finer axis holds more
  pixels, and a diagonal run holds 1/sqrt(2) as many pixels per mm as an axis-parallel one.

Why the surface-element version ranks: it is the definition of the paper that introduced NSD,
and it weighs every millimetre of boundary equally, which a per-task tolerance in mm implies.
docs/metrics.md compares the two with numbers.

Both: a distance counts as within the tolerance when it is at most ``tau`` (DeepMind's
``<=``) plus 1e-9 mm, so that a tolerance of exactly ``k`` pixels, e.g. 0.3 mm at 0.1 mm
pixels (``3 * 0.1 = 0.30000000000000004`` in floating point), includes the pixels ``k``
away. Empty masks follow the evaluator's policy (docs/metrics.md, ``segmentation._empty_score``):
both empty is perfect (1.0, where DeepMind returns NaN from 0/0), one empty scores 0.0
(DeepMind's value too: every distance is infinite).

Pixels beyond the image count as background, as everywhere in this evaluator, so a mask
touching the image edge has a boundary there.
"""

from __future__ import annotations

import math

import numpy as np

from evaluator.metrics.compiled import kernel
from evaluator.metrics.segmentation import _as_mask, _check_spacing
from evaluator.metrics.surface import (
    nearest_border_distances,
    surface_statistics,
    union_bounding_box,
)

#: Slack (mm) added to the tolerance, absorbing the rounding of ``k * spacing``.
TOLERANCE_SLACK_MM = 1e-9

#: Neighbourhood codes of a pixel corner: 8 * top-left + 4 * top-right + 2 * bottom-left +
#: bottom-right pixel (DeepMind's ``ENCODE_NEIGHBOURHOOD_2D_KERNEL``, [[8, 4], [2, 1]]).
#: One row of the 2x2 neighbourhood inside: the contour crosses the cell left to right.
_SIDE_HORIZONTAL = (0b0011, 0b1100)
#: One column inside: the contour crosses the cell top to bottom.
_SIDE_VERTICAL = (0b0101, 0b1010)
#: Two diagonal pixels inside (a saddle): two corner-cutting segments.
_SADDLES = (0b0110, 0b1001)


def contour_length_table(spacing: tuple[float, float]) -> np.ndarray:
    """Contour length (mm) in a pixel-corner cell for each of the 16 neighbourhood codes.

    Marching squares through the midpoints of the cell's sides: one or three pixels inside cut
    a corner (half the pixel diagonal), two side by side cross the cell (one pixel side), two
    diagonal ones make two cuts; all inside or all outside hold no contour (0). Equals
    DeepMind's ``create_table_neighbour_code_to_contour_length(spacing_mm)``.
    """
    row_mm, col_mm = spacing
    half_diagonal = 0.5 * math.hypot(row_mm, col_mm)
    table = np.full(16, half_diagonal)
    table[[0b0000, 0b1111]] = 0.0
    table[list(_SIDE_HORIZONTAL)] = col_mm
    table[list(_SIDE_VERTICAL)] = row_mm
    table[list(_SADDLES)] = 2.0 * half_diagonal
    return table


@kernel
def _contour_kernel(mask, r0, r1, c0, c1, table, border):  # pragma: no cover - compiled
    """Contour elements of the box ``mask[r0:r1, c0:c1]`` (uint8 0/1) on its corner grid.

    Corner ``(i, j)``, ``0 <= i <= h``, ``0 <= j <= w``, is the top-left corner of box pixel
    ``(i, j)``; its code is 8 * top-left + 4 * top-right + 2 * bottom-left + bottom-right
    pixel, pixels outside the box counting as background (exact when the box holds every
    foreground pixel). Writes ``border[i, j]`` (1 where the code is neither 0 nor 15) and
    returns the border corners' contour lengths ``table[code]`` in row-major order. One pass
    over two row buffers, so no box-sized temporary is made.
    """
    h, w = r1 - r0, c1 - c0
    upper = np.zeros(w + 2, dtype=np.uint8)
    lower = np.zeros(w + 2, dtype=np.uint8)
    codes = np.empty(w + 1, dtype=np.uint8)
    lengths = np.empty((h + 1) * (w + 1), dtype=np.float64)  # pages are touched as written
    count = 0
    for i in range(h + 1):
        upper, lower = lower, upper
        if i < h:
            lower[1 : w + 1] = mask[r0 + i, c0:c1]
        else:
            lower[:] = 0
        for j in range(w + 1):
            codes[j] = (upper[j] << 3) | (upper[j + 1] << 2) | (lower[j] << 1) | lower[j + 1]
        row = border[i]
        for j in range(w + 1):
            row[j] = (codes[j] != 0) & (codes[j] != 15)
        for j in range(w + 1):
            if row[j]:
                lengths[count] = table[codes[j]]
                count += 1
    return lengths[:count]


def _contour_elements(
    mask: np.ndarray, box: tuple[slice, slice], table: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(border corners as bool (h + 1, w + 1), their lengths) of a boolean mask's box.

    Bool, not uint8: ``np.flatnonzero`` (in `surface.nearest_border_distances`) is over ten
    times faster on booleans."""
    rows, cols = box
    border = np.empty((rows.stop - rows.start + 1, cols.stop - cols.start + 1), dtype=np.uint8)
    lengths = _contour_kernel(
        mask.view(np.uint8), rows.start, rows.stop, cols.start, cols.stop, table, border
    )
    return border.view(bool), lengths


def contour_elements(
    mask: np.ndarray, spacing: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The marching-squares contour of a 2-D mask on its pixel-corner grid.

    Returns the border corners (bool, shape ``(rows + 1, cols + 1)``; corner ``(i, j)`` is the
    top-left corner of pixel ``(i, j)``, beyond the image is background) and each one's
    contour length in mm, in row-major order: DeepMind's ``borders_gt`` and
    ``surfel_areas_gt`` before their sorting, on the whole image instead of a cropped box.
    """
    mask = _as_mask(mask, "mask")
    rows, cols = mask.shape
    table = contour_length_table(_check_spacing(spacing))
    return _contour_elements(mask, (slice(0, rows), slice(0, cols)), table)


def _check_tolerance(tolerance_mm: float) -> float:
    """The tolerance as a float; it must be finite and not negative."""
    try:
        tolerance = float(tolerance_mm)
    except (TypeError, ValueError):
        raise ValueError(f"tolerance_mm must be a number, got {tolerance_mm!r}") from None
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance_mm must be finite and not negative, got {tolerance_mm!r}")
    return tolerance


def _checked(pred, ref, spacing, tolerance_mm):
    """Inputs checked as `score_class` checks them, plus the tolerance."""
    pred = _as_mask(pred, "prediction")
    ref = _as_mask(ref, "reference")
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    return pred, ref, _check_spacing(spacing), _check_tolerance(tolerance_mm)


def surface_dice(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float], tolerance_mm: float
) -> float:
    """NSD at ``tolerance_mm`` with contour elements weighted by their length (DeepMind's).

    ``pred`` and ``ref`` are 2-D masks of one shape (nonzero = foreground), ``spacing`` is
    ``(row_mm, col_mm)``. 1.0 when both are empty, 0.0 when one is. Equals
    ``compute_surface_dice_at_tolerance(compute_surface_distances(ref, pred, spacing), tau)``
    of DeepMind's ``surface-distance`` wherever that is defined (see the module docstring).
    """
    pred, ref, spacing, tolerance = _checked(pred, ref, spacing, tolerance_mm)
    box = union_bounding_box(pred, ref)
    if box is None:
        return 1.0
    table = contour_length_table(spacing)
    pred_border, pred_lengths = _contour_elements(pred, box, table)
    ref_border, ref_lengths = _contour_elements(ref, box, table)
    if pred_lengths.size == 0 or ref_lengths.size == 0:
        return 0.0
    limit = tolerance + TOLERANCE_SLACK_MM
    # The corner grid has the pixels' spacing: distances between corners are exact EDT values.
    pred_to_ref = nearest_border_distances(pred_border, ref_border, spacing)
    ref_to_pred = nearest_border_distances(ref_border, pred_border, spacing)
    within = pred_lengths[pred_to_ref <= limit].sum() + ref_lengths[ref_to_pred <= limit].sum()
    return float(within / (pred_lengths.sum() + ref_lengths.sum()))


def surface_dice_pixels(
    pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float], tolerance_mm: float
) -> float:
    """NSD at ``tolerance_mm`` counting border pixels (Metrics Reloaded's and MONAI's default).

    The border pixels and distances are those of HD/HD95/ASSD (`surface.surface_statistics`,
    exact to medpy 0.5.2), so this is 1.0 exactly when ``hd <= tolerance_mm``. 1.0 when both
    masks are empty, 0.0 when one is.
    """
    pred, ref, spacing, tolerance = _checked(pred, ref, spacing, tolerance_mm)
    stats = surface_statistics(pred, ref, spacing)
    if stats.pred_size == 0 and stats.ref_size == 0:
        return 1.0
    if stats.pred_size == 0 or stats.ref_size == 0:
        return 0.0
    forward, backward = stats.distances.pred_to_ref, stats.distances.ref_to_pred
    limit = tolerance + TOLERANCE_SLACK_MM
    within = np.count_nonzero(forward <= limit) + np.count_nonzero(backward <= limit)
    return within / (forward.size + backward.size)
