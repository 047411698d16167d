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


def corner_codes(mask: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """Neighbourhood codes (uint8) of every pixel corner of the box ``mask[rows, cols]``.

    Shape ``(h + 1, w + 1)``: corner ``(i, j)`` is the top-left corner of box pixel ``(i, j)``,
    at ``(i - 0.5, j - 0.5)`` in pixel units. Pixels outside the box count as background,
    which is exact when the box holds every foreground pixel (beyond the image is background).
    """
    box = mask[rows, cols]
    padded = np.zeros((box.shape[0] + 2, box.shape[1] + 2), dtype=np.uint8)
    padded[1:-1, 1:-1] = box
    pairs = padded[:, :-1] << 1  # 2 * left + right pixel, for every row
    pairs |= padded[:, 1:]
    codes = pairs[:-1] << 2  # the upper pair in bits 3-2, the lower in bits 1-0
    codes |= pairs[1:]
    return codes


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
    pred_codes = corner_codes(pred, *box)
    ref_codes = corner_codes(ref, *box)
    pred_border = (pred_codes != 0) & (pred_codes != 0b1111)
    ref_border = (ref_codes != 0) & (ref_codes != 0b1111)
    # Row-major order, the order of the distances below.
    pred_lengths = table[pred_codes[pred_border]]
    ref_lengths = table[ref_codes[ref_border]]
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
