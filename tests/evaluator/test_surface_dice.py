"""Normalised surface Dice (evaluator.metrics.surface_dice) against independent implementations.

- ``deepmind_surface_dice`` below is DeepMind's ``surface-distance`` algorithm
  (``compute_surface_distances`` + ``compute_surface_dice_at_tolerance``, github.com/deepmind/
  surface-distance, Apache-2.0), written out here with SciPy: neighbour codes by
  ``ndimage.correlate`` with [[8, 4], [2, 1]] on the union's bounding box zero-padded below and
  right, contour lengths per code derived from the marching-squares geometry (not from the
  module's table), distances by ``distance_transform_edt(~border, sampling=spacing)``. The PyPI
  package ``surface-distance`` 0.1 is not a project dependency; when it is importable (e.g.
  ``pip install --target /tmp/sd surface-distance`` and ``PYTHONPATH=/tmp/sd``),
  `test_transcription_matches_the_surface_distance_package` checks this transcription
  against it (not run otherwise).
- ``pixel_surface_dice`` is the pixel-centre definition as the Metrics Reloaded package writes
  it: border = mask minus its erosion, whole-image EDT with ``sampling``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from evaluator.metrics.segmentation import score_class
from evaluator.metrics.surface import union_bounding_box
from evaluator.metrics.surface_dice import (
    contour_elements,
    contour_length_table,
    surface_dice,
    surface_dice_pixels,
)
from tests.evaluator.conftest import hc18_head_mask


def disk(shape, center, radius) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def ellipse(shape, center, radii, angle=0.0) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(float)
    y, x = yy - center[0], xx - center[1]
    c, s = math.cos(angle), math.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    return (u / radii[1]) ** 2 + (v / radii[0]) ** 2 <= 1.0


def rectangle(shape, rows, cols) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[rows[0] : rows[1], cols[0] : cols[1]] = True
    return mask


# --------------------------------------------------------------------------------------------
# The independent implementations


def marching_squares_length(code: int, spacing) -> float:
    """Contour length (mm) in one 2x2 cell from the geometry: the contour joins the midpoints
    of the cell sides whose two pixels differ; a saddle joins them as two corner cuts."""
    row_mm, col_mm = spacing
    # Pixel centres of the cell, (y, x) in mm: top-left 8, top-right 4, bottom-left 2, bottom-right 1.
    corners = {8: (0.0, 0.0), 4: (0.0, col_mm), 2: (row_mm, 0.0), 1: (row_mm, col_mm)}
    inside = {bit: bool(code & bit) for bit in corners}
    sides = [(8, 4), (4, 1), (1, 2), (2, 8)]  # around the cell
    crossings = [
        tuple((a + b) / 2 for a, b in zip(corners[p], corners[q], strict=True))
        for p, q in sides
        if inside[p] != inside[q]
    ]
    if not crossings:
        return 0.0
    if len(crossings) == 2:
        return math.dist(*crossings)
    # Saddle: each inside pixel is cut off on its own, joining the two crossings next to it.
    return sum(
        math.dist(crossings[i], crossings[(i + 1) % 4])
        for i in range(4)
        if inside[sides[i][1]]  # the pixel shared by side i and side i+1
    )


def deepmind_surface_dice(gt: np.ndarray, pred: np.ndarray, spacing, tolerance: float) -> float:
    """DeepMind's ``compute_surface_dice_at_tolerance(compute_surface_distances(gt, pred, s), t)``
    (NaN when both are empty, as there)."""
    union = gt | pred
    if not union.any():
        return math.nan
    rows = np.flatnonzero(union.any(axis=1))
    cols = np.flatnonzero(union.any(axis=0))
    lengths = np.array([marching_squares_length(code, spacing) for code in range(16)])
    kernel = np.array([[8, 4], [2, 1]])
    maps = []
    for mask in (gt, pred):
        crop = np.zeros((rows[-1] - rows[0] + 2, cols[-1] - cols[0] + 2), dtype=np.uint8)
        crop[:-1, :-1] = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        codes = ndimage.correlate(crop, kernel, mode="constant", cval=0)
        border = (codes != 0) & (codes != 15)
        distance = (
            ndimage.distance_transform_edt(~border, sampling=spacing)
            if border.any()
            else np.full(border.shape, np.inf)
        )
        maps.append((border, lengths[codes], distance))
    (gt_border, gt_lengths, gt_distance), (pred_border, pred_lengths, pred_distance) = maps
    gt_to_pred, gt_len = pred_distance[gt_border], gt_lengths[gt_border]
    pred_to_gt, pred_len = gt_distance[pred_border], pred_lengths[pred_border]
    within = gt_len[gt_to_pred <= tolerance].sum() + pred_len[pred_to_gt <= tolerance].sum()
    return within / (gt_len.sum() + pred_len.sum())


def pixel_surface_dice(pred: np.ndarray, ref: np.ndarray, spacing, tolerance: float) -> float:
    """Metrics Reloaded's ``normalised_surface_distance`` (pixel borders, counted equally)."""
    cross = ndimage.generate_binary_structure(2, 1)
    pred_border = pred & ~ndimage.binary_erosion(pred, cross, border_value=0)
    ref_border = ref & ~ndimage.binary_erosion(ref, cross, border_value=0)
    to_ref = ndimage.distance_transform_edt(~ref_border, sampling=spacing)
    to_pred = ndimage.distance_transform_edt(~pred_border, sampling=spacing)
    within = np.count_nonzero(to_ref[pred_border] <= tolerance) + np.count_nonzero(
        to_pred[ref_border] <= tolerance
    )
    return within / (np.count_nonzero(pred_border) + np.count_nonzero(ref_border))


def random_pairs(count: int, seed: int):
    """Noise, discs, ellipses and rectangles (many touching the image edge), random spacing
    and a tolerance off the distance lattice (so that rounding at a tie cannot decide)."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        h, w = (int(v) for v in rng.integers(3, 70, 2))
        kind = made % 4
        if kind == 0:
            pred = rng.random((h, w)) < rng.uniform(0.05, 0.95)
            ref = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        elif kind == 1:
            r = rng.uniform(1, max(h, w) / 2)
            pred = disk((h, w), rng.uniform(0, (h, w)), r)
            ref = disk((h, w), rng.uniform(0, (h, w)), r * rng.uniform(0.7, 1.3))
        elif kind == 2:
            pred = ellipse((h, w), (h / 2, w / 2), (h / 3, w / 4), rng.uniform(0, math.pi))
            ref = ellipse((h, w), rng.uniform(0, (h, w)), (h / 2.5, w / 3), rng.uniform(0, 3))
        else:
            r0, r1 = sorted(rng.integers(0, h + 1, 2))
            c0, c1 = sorted(rng.integers(0, w + 1, 2))
            pred = rectangle((h, w), (r0, r1 + 1), (c0, c1 + 1))
            ref = np.roll(pred, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        if not (pred.any() and ref.any()):
            continue
        spacing = tuple(float(s) for s in rng.uniform(0.05, 2.0, 2))
        tolerance = float(rng.uniform(0, 6)) * max(spacing)
        yield pred, ref, spacing, tolerance
        made += 1


# --------------------------------------------------------------------------------------------
# Against the independent implementations


def test_contour_length_table_is_the_marching_squares_geometry() -> None:
    for spacing in [(1.0, 1.0), (0.3, 0.8), (2.0, 0.5)]:
        expected = [marching_squares_length(code, spacing) for code in range(16)]
        np.testing.assert_allclose(contour_length_table(spacing), expected, rtol=1e-15)
    table = contour_length_table((0.3, 0.8))
    assert table[0b0011] == 0.8 and table[0b0101] == 0.3 and table[0] == table[15] == 0.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.3, 0.8)])
def test_contour_elements_are_deepminds_correlation(spacing) -> None:
    """Border corners and their lengths, in row-major order, as DeepMind's correlation with
    [[8, 4], [2, 1]] and the geometric lengths give them (whole image, zero-padded)."""
    rng = np.random.default_rng(3)
    lengths = np.array([marching_squares_length(code, spacing) for code in range(16)])
    for shape in [(17, 23), (1, 9), (8, 1), (1, 1)]:
        mask = rng.random(shape) < 0.5
        crop = np.zeros((shape[0] + 1, shape[1] + 1), dtype=np.uint8)
        crop[:-1, :-1] = mask
        codes = ndimage.correlate(crop, np.array([[8, 4], [2, 1]]), mode="constant", cval=0)
        border, element_lengths = contour_elements(mask, spacing)
        np.testing.assert_array_equal(border, (codes != 0) & (codes != 15))
        np.testing.assert_allclose(element_lengths, lengths[codes[border]], rtol=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_deepmind_on_random_shapes_and_spacings(seed) -> None:
    for pred, ref, spacing, tolerance in random_pairs(60, seed):
        expected = deepmind_surface_dice(ref, pred, spacing, tolerance)
        assert surface_dice(pred, ref, spacing, tolerance) == pytest.approx(expected, abs=1e-12)


def test_transcription_matches_the_surface_distance_package() -> None:
    sd = pytest.importorskip("surface_distance", reason="PyPI surface-distance not installed")
    for pred, ref, spacing, tolerance in random_pairs(80, 7):
        distances = sd.compute_surface_distances(ref, pred, spacing)
        expected = sd.compute_surface_dice_at_tolerance(distances, tolerance)
        assert deepmind_surface_dice(ref, pred, spacing, tolerance) == pytest.approx(expected)
        assert surface_dice(pred, ref, spacing, tolerance) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", [2, 3])
def test_pixel_version_equals_metrics_reloaded_definition(seed) -> None:
    for pred, ref, spacing, tolerance in random_pairs(60, seed):
        expected = pixel_surface_dice(pred, ref, spacing, tolerance)
        assert surface_dice_pixels(pred, ref, spacing, tolerance) == pytest.approx(
            expected, abs=1e-12
        )


def test_pixel_version_is_one_exactly_when_hd_is_within_tolerance() -> None:
    for pred, ref, spacing, tolerance in random_pairs(80, 4):
        hd = score_class(pred, ref, spacing).metrics["hd"]
        for tau in (tolerance, hd, hd * 0.999):
            assert (surface_dice_pixels(pred, ref, spacing, tau) == 1.0) == (hd <= tau + 1e-9)


def test_equals_deepmind_on_real_hc18_heads(hc18_cases) -> None:
    for case in hc18_cases[:6]:
        ref = hc18_head_mask(case)
        spacing = (case.pixel_mm, case.pixel_mm)
        for shift, tolerance in [((3, -5), 0.5), ((0, 12), 1.0), ((-7, 2), 2.0)]:
            pred = np.roll(ref, shift, axis=(0, 1))
            expected = deepmind_surface_dice(ref, pred, spacing, tolerance)
            assert surface_dice(pred, ref, spacing, tolerance) == pytest.approx(expected, 1e-12)


# --------------------------------------------------------------------------------------------
# Known answers


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.5, 0.2), (0.2, 0.7)])
@pytest.mark.parametrize("k", [1, 3, 6])
@pytest.mark.parametrize("nsd", [surface_dice, surface_dice_pixels])
def test_discs_offset_by_k_pixels(nsd, k, spacing) -> None:
    """Every boundary element has its translate k columns away, and the leftmost ones have
    nothing nearer: perfect at k * col_mm (a tie, kept by the 1e-9 mm slack), not below."""
    ref = disk((60, 70), (30, 30), 14)
    pred = np.roll(ref, k, axis=1)
    col_mm = spacing[1]
    assert nsd(pred, ref, spacing, k * col_mm) == 1.0
    assert nsd(pred, ref, spacing, k * col_mm + 5.0) == 1.0
    below = nsd(pred, ref, spacing, k * col_mm * 0.999)
    assert 0.0 < below < 1.0
    # Row offsets are measured in row_mm.
    down = np.roll(ref, k, axis=0)
    assert nsd(down, ref, spacing, k * spacing[0]) == 1.0
    assert nsd(down, ref, spacing, k * spacing[0] * 0.999) < 1.0


def test_tolerance_of_whole_pixels_at_inexact_spacing_counts_the_tie() -> None:
    """3 * 0.1 is 0.30000000000000004 in floating point; a tolerance of 0.3 mm still
    reaches 3 pixels of 0.1 mm."""
    ref = disk((50, 50), (25, 25), 10)
    pred = np.roll(ref, 3, axis=1)
    assert surface_dice(pred, ref, (0.1, 0.1), 0.3) == 1.0
    assert surface_dice_pixels(pred, ref, (0.1, 0.1), 0.3) == 1.0


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.4, 0.9)])
def test_rectangles_offset_at_zero_tolerance(spacing) -> None:
    """H x W rectangles k columns apart, tolerance 0: only the shared stretches of the top and
    bottom edges count. Contour of one: 2(W-1) col_mm + 2(H-1) row_mm + 4 half diagonals;
    shared per edge and mask: (W-k) col_mm + one corner cut. Pixel borders: 2W + 2(H-2)
    pixels, (W-k) shared per edge."""
    row_mm, col_mm = spacing
    h, w, k = 12, 20, 3
    ref = rectangle((30, 40), (5, 5 + h), (8, 8 + w))
    pred = np.roll(ref, k, axis=1)
    half_diagonal = 0.5 * math.hypot(row_mm, col_mm)
    expected = ((w - k) * col_mm + half_diagonal) / (
        (w - 1) * col_mm + (h - 1) * row_mm + 2 * half_diagonal
    )
    assert surface_dice(pred, ref, spacing, 0.0) == pytest.approx(expected, rel=1e-14)
    assert surface_dice_pixels(pred, ref, spacing, 0.0) == pytest.approx((w - k) / (w + h - 2))


@pytest.mark.parametrize("nsd", [surface_dice, surface_dice_pixels])
def test_symmetric_and_transposable(nsd) -> None:
    for pred, ref, spacing, tolerance in random_pairs(30, 5):
        value = nsd(pred, ref, spacing, tolerance)
        assert nsd(ref, pred, spacing, tolerance) == pytest.approx(value, abs=1e-12)
        assert nsd(pred.T, ref.T, spacing[::-1], tolerance) == pytest.approx(value, abs=1e-12)


def test_surface_elements_weigh_boundary_by_length_on_anisotropic_pixels() -> None:
    """One physical scene, a 10 x 10 mm square and a prediction 1 mm too wide on the right,
    tolerance 0.9 mm, drawn on 1 x 1, 0.5 x 0.5 and 0.5 x 1 mm pixels. Surface elements give
    about the same NSD on all three (0.756, 0.769, 0.762); border pixels drop to 0.684 on the
    anisotropic pixels, where the right side (vertical, 0.5 mm rows) holds twice as many pixels
    per mm as the top and bottom."""

    def scene(row_mm: float, col_mm: float) -> tuple[float, float]:
        rows, cols = round(10 / row_mm), round(10 / col_mm)
        shape = (rows + 20, cols + 20)
        ref = rectangle(shape, (10, 10 + rows), (10, 10 + cols))
        pred = rectangle(shape, (10, 10 + rows), (10, 10 + cols + round(1 / col_mm)))
        spacing = (row_mm, col_mm)
        return surface_dice(pred, ref, spacing, 0.9), surface_dice_pixels(pred, ref, spacing, 0.9)

    coarse, fine, anisotropic = scene(1.0, 1.0), scene(0.5, 0.5), scene(0.5, 1.0)
    assert coarse == pytest.approx((0.7563, 0.7568), abs=1e-4)
    assert fine == pytest.approx((0.7686, 0.7692), abs=1e-4)
    assert coarse[0] < anisotropic[0] < fine[0]
    assert anisotropic[1] == pytest.approx(0.6842, abs=1e-4)  # 52 of 76 border pixels


# --------------------------------------------------------------------------------------------
# Edge cases


@pytest.mark.parametrize("nsd", [surface_dice, surface_dice_pixels])
def test_empty_masks(nsd) -> None:
    empty = np.zeros((20, 30), dtype=bool)
    mask = disk((20, 30), (10, 15), 5)
    assert nsd(empty, empty, (0.5, 0.5), 1.0) == 1.0
    assert nsd(empty, mask, (0.5, 0.5), 100.0) == 0.0
    assert nsd(mask, empty, (0.5, 0.5), 100.0) == 0.0


@pytest.mark.parametrize("nsd", [surface_dice, surface_dice_pixels])
def test_full_image_masks(nsd) -> None:
    """The image edge is a boundary (beyond the image is background)."""
    full = np.ones((25, 30), dtype=bool)
    assert nsd(full, full, (0.3, 0.4), 0.0) == 1.0
    inset = full.copy()
    inset[:, -2:] = False  # the right edge 2 columns in
    assert nsd(inset, full, (0.3, 0.4), 0.8) == 1.0
    assert nsd(inset, full, (0.3, 0.4), 0.79) < 1.0
    pixel = np.zeros_like(full)
    pixel[12, 15] = True
    assert nsd(pixel, full, (1.0, 1.0), 3.0) == 0.0


def test_single_pixels_and_thin_lines_equal_deepmind() -> None:
    a = np.zeros((15, 15), dtype=bool)
    b = np.zeros_like(a)
    a[7, 7] = True
    b[7, 9] = True
    for tau in (0.0, 1.0, 1.9, 2.0, 5.0):
        assert surface_dice(a, b, (1.0, 1.0), tau) == pytest.approx(
            deepmind_surface_dice(b, a, (1.0, 1.0), tau)
        )
    line = np.zeros((30, 30), dtype=bool)
    line[10, 3:27] = True
    diagonal = np.eye(30, dtype=bool)
    for spacing in [(1.0, 1.0), (0.5, 1.5)]:
        for tau in (0.5, 2.5, 9.0):
            assert surface_dice(line, diagonal, spacing, tau) == pytest.approx(
                deepmind_surface_dice(diagonal, line, spacing, tau)
            )


def test_the_union_box_is_all_it_reads() -> None:
    """Shapes placed anywhere in a larger image score as in a tight one."""
    ref = disk((40, 40), (20, 20), 9)
    pred = np.roll(ref, (2, -3), axis=(0, 1))
    big_ref = np.zeros((200, 300), dtype=bool)
    big_pred = np.zeros_like(big_ref)
    big_ref[100:140, 200:240] = ref
    big_pred[100:140, 200:240] = pred
    assert union_bounding_box(big_pred, big_ref) is not None
    for nsd in (surface_dice, surface_dice_pixels):
        assert nsd(big_pred, big_ref, (0.7, 0.3), 1.2) == nsd(pred, ref, (0.7, 0.3), 1.2)


@pytest.mark.parametrize("nsd", [surface_dice, surface_dice_pixels])
@pytest.mark.parametrize(
    "args, message",
    [
        ((np.ones((4, 4)), np.ones((4, 5)), (1, 1), 1.0), "differs"),
        ((np.ones((4, 4, 2)), np.ones((4, 4, 2)), (1, 1), 1.0), "2-D"),
        ((np.ones((4, 4)), np.ones((4, 4)), (0, 1), 1.0), "spacing"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), -0.1), "tolerance"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), math.nan), "tolerance"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), "far"), "tolerance"),
    ],
)
def test_bad_input_raises_value_error(nsd, args, message) -> None:
    with pytest.raises(ValueError, match=message):
        nsd(*args)


def test_non_boolean_masks_count_nonzero_as_foreground() -> None:
    ref = disk((30, 30), (15, 15), 6)
    pred = np.roll(ref, 2, axis=0)
    expected = surface_dice(pred, ref, (1.0, 1.0), 1.0)
    assert surface_dice(pred.astype(np.uint8) * 255, ref * 2.0, (1.0, 1.0), 1.0) == expected
