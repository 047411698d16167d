"""Boundary IoU (evaluator.metrics.boundary_iou) against independent implementations.

- ``reference_boundary_iou`` follows the authors' code (github.com/bowenc0221/boundary-iou-api,
  ``boundary_iou_evaluation.py``: ``mask_to_boundary`` pads the mask with one zero pixel, erodes
  it ``dilation`` times with a 3x3 square in OpenCV and keeps mask minus erosion). It measures
  the chessboard distance in pixels, so with spacing (1, 1) it equals the module's Euclidean
  band on axis-parallel rectangles (any width) and on every shape at ``d = sqrt(2)`` mm vs one
  erosion; elsewhere they differ (docs/metrics.md has numbers).
- ``band_by_edt`` is the module's definition written with SciPy's whole-image EDT.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from scipy import ndimage

from evaluator.metrics.boundary_iou import boundary_band, boundary_iou
from evaluator.metrics.segmentation import score_class
from tests.evaluator.conftest import hc18_head_mask
from tests.evaluator.test_surface_dice import disk, ellipse, rectangle


def reference_band(mask: np.ndarray, dilation: int) -> np.ndarray:
    """Cheng et al.'s ``mask_to_boundary`` with the dilation in pixels (at least 1)."""
    h, w = mask.shape
    framed = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(framed, np.ones((3, 3), np.uint8), iterations=max(dilation, 1))
    return mask.astype(bool) & (eroded[1 : h + 1, 1 : w + 1] == 0)


def reference_boundary_iou(gt: np.ndarray, dt: np.ndarray, dilation: int) -> float:
    gt_band, dt_band = reference_band(gt, dilation), reference_band(dt, dilation)
    return np.count_nonzero(gt_band & dt_band) / np.count_nonzero(gt_band | dt_band)


def band_by_edt(mask: np.ndarray, spacing, distance: float) -> np.ndarray:
    """Pixels of the mask at most ``distance`` (+1e-9) mm from a pixel outside it (beyond the
    image is outside), plus those with an outside 4-neighbour."""
    framed = np.pad(mask, 1)
    to_outside = ndimage.distance_transform_edt(framed, sampling=spacing)[1:-1, 1:-1]
    cross = ndimage.generate_binary_structure(2, 1)
    border = mask & ~ndimage.binary_erosion(mask, cross, border_value=0)
    return mask & ((to_outside <= distance + 1e-9) | border)


def random_rectangle(rng, shape) -> np.ndarray:
    r0, r1 = sorted(int(v) for v in rng.integers(0, shape[0], 2))
    c0, c1 = sorted(int(v) for v in rng.integers(0, shape[1], 2))
    return rectangle(shape, (r0, r1 + 1), (c0, c1 + 1))


def random_shapes(count: int, seed: int):
    """Noise, discs, ellipses (many cut by the image edge) in images of 1-70 pixels a side."""
    rng = np.random.default_rng(seed)
    made = 0
    while made < count:
        shape = tuple(int(v) for v in rng.integers(1, 70, 2))
        kind = made % 3
        if kind == 0:
            mask = rng.random(shape) < rng.uniform(0.1, 0.97)
        elif kind == 1:
            mask = disk(shape, rng.uniform(0, shape), rng.uniform(0.5, max(shape) / 1.5))
        else:
            radii = (shape[0] / rng.uniform(1.5, 4), shape[1] / rng.uniform(1.5, 4))
            mask = ellipse(shape, rng.uniform(0, shape), radii, rng.uniform(0, math.pi))
        if mask.any():
            yield mask, rng
            made += 1


# --------------------------------------------------------------------------------------------
# Against the independent implementations


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_the_reference_code_on_rectangles(seed) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(150):
        shape = tuple(int(v) for v in rng.integers(2, 80, 2))
        gt, dt = random_rectangle(rng, shape), random_rectangle(rng, shape)
        dilation = int(rng.integers(1, 25))
        expected = reference_boundary_iou(gt, dt, dilation)
        assert boundary_iou(dt, gt, (1.0, 1.0), float(dilation)) == expected


def test_equals_the_reference_code_on_separated_rectangles() -> None:
    """Several rectangles at least one pixel apart, some cut by the image edge."""
    shape = (60, 90)
    gt = np.zeros(shape, dtype=bool)
    gt[0:20, 0:25] = gt[25:60, 5:15] = gt[30:50, 40:90] = True
    dt = np.zeros(shape, dtype=bool)
    dt[2:18, 3:30] = dt[22:55, 0:12] = dt[28:52, 45:85] = True
    for dilation in range(1, 30):
        expected = reference_boundary_iou(gt, dt, dilation)
        assert boundary_iou(dt, gt, (1.0, 1.0), dilation) == expected
        np.testing.assert_array_equal(
            boundary_band(gt, (1, 1), dilation), reference_band(gt, dilation)
        )


def test_equals_one_erosion_of_the_reference_code_at_sqrt2_on_any_shape() -> None:
    """A Euclidean distance of at most sqrt(2) pixels is a chessboard distance of 1."""
    shapes = random_shapes(120, 2)
    for (gt, _), (dt, _) in zip(shapes, shapes, strict=False):
        if gt.shape != dt.shape:
            dt = np.resize(dt, gt.shape)
            if not dt.any():
                continue
        expected = reference_boundary_iou(gt, dt, 1)
        assert boundary_iou(dt, gt, (1.0, 1.0), math.sqrt(2)) == expected
        np.testing.assert_array_equal(
            boundary_band(gt, (1, 1), math.sqrt(2)), reference_band(gt, 1)
        )


@pytest.mark.parametrize("seed", [3, 4])
def test_band_equals_its_definition_with_scipy_edt(seed) -> None:
    """Random shapes, random anisotropic spacing, widths from below a pixel to beyond the shape."""
    for mask, rng in random_shapes(150, seed):
        spacing = tuple(float(s) for s in rng.uniform(0.05, 2.0, 2))
        distance = float(rng.choice([rng.uniform(0, min(spacing)), rng.uniform(0, 12)]))
        expected = band_by_edt(mask, spacing, distance)
        np.testing.assert_array_equal(boundary_band(mask, spacing, distance), expected)


def test_band_ties_on_whole_pixels_at_inexact_spacing() -> None:
    """3 * 0.1 is 0.30000000000000004; a band of 0.3 mm on 0.1 mm pixels is 3 pixels deep."""
    mask = rectangle((30, 30), (5, 25), (5, 25))
    band = boundary_band(mask, (0.1, 0.1), 0.3)
    assert np.count_nonzero(band[15, :]) == 6  # 3 pixels at either side
    np.testing.assert_array_equal(band, band_by_edt(mask, (0.1, 0.1), 0.3))


def test_equals_definition_on_real_hc18_heads(hc18_cases) -> None:
    for case in hc18_cases[:4]:
        ref = hc18_head_mask(case)
        spacing = (case.pixel_mm, case.pixel_mm)
        pred = np.roll(ref, (4, -9), axis=(0, 1))
        for distance in (0.5, 2.0, 19 * case.pixel_mm):
            pred_band = band_by_edt(pred, spacing, distance)
            ref_band = band_by_edt(ref, spacing, distance)
            expected = np.count_nonzero(pred_band & ref_band) / np.count_nonzero(
                pred_band | ref_band
            )
            assert boundary_iou(pred, ref, spacing, distance) == pytest.approx(expected, 1e-15)
        assert boundary_iou(pred, ref, (1.0, 1.0), math.sqrt(2)) == reference_boundary_iou(
            ref, pred, 1
        )


# --------------------------------------------------------------------------------------------
# Known answers


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.5, 0.2), (0.3, 0.7)])
def test_band_depth_on_straight_edges_is_the_width_over_the_spacing(spacing) -> None:
    row_mm, col_mm = spacing
    mask = rectangle((120, 120), (10, 110), (10, 110))
    band = boundary_band(mask, spacing, 2.0)
    middle_row, middle_col = band[60, :], band[:, 60]
    assert np.flatnonzero(middle_row).tolist() == [
        *range(10, 10 + int(2.0 / col_mm)),
        *range(110 - int(2.0 / col_mm), 110),
    ]
    assert np.count_nonzero(middle_col) == 2 * int(2.0 / row_mm)


def test_offset_squares_have_the_iou_of_their_frames() -> None:
    """Two 40 x 40 squares 5 columns apart, bands 3 pixels deep: the bands are the squares'
    frames (40^2 - 34^2 = 456 pixels each), drawn here by slicing; at 0.5 mm pixels a band
    of 1.5 mm is the same 3 pixels."""
    shape = (60, 70)
    gt = rectangle(shape, (10, 50), (10, 50))
    dt = np.roll(gt, 5, axis=1)

    def frame(top, left):
        f = rectangle(shape, (top, top + 40), (left, left + 40))
        f[top + 3 : top + 37, left + 3 : left + 37] = False
        return f

    gt_frame, dt_frame = frame(10, 10), frame(10, 15)
    assert np.count_nonzero(gt_frame) == 40 * 40 - 34 * 34
    expected = np.count_nonzero(gt_frame & dt_frame) / np.count_nonzero(gt_frame | dt_frame)
    assert boundary_iou(dt, gt, (1.0, 1.0), 3.0) == expected
    assert boundary_iou(dt, gt, (0.5, 0.5), 1.5) == expected


def test_wide_bands_give_the_mask_iou() -> None:
    """A band wider than the masks' half-width holds whole masks: Boundary IoU is IoU."""
    ref = disk((80, 80), (40, 40), 15)
    pred = np.roll(ellipse((80, 80), (40, 40), (12, 18), 0.4), 3, axis=0)
    iou = score_class(pred, ref, (0.4, 0.6)).metrics["iou"]
    assert boundary_iou(pred, ref, (0.4, 0.6), 20.0) == pytest.approx(iou, abs=1e-15)
    assert boundary_iou(pred, ref, (0.4, 0.6), 2.0) < iou


def test_widths_below_the_pixel_size_give_the_border() -> None:
    mask = disk((40, 40), (20, 20), 12)
    cross = ndimage.generate_binary_structure(2, 1)
    border = mask & ~ndimage.binary_erosion(mask, cross, border_value=0)
    for distance in (0.0, 0.25, 0.49):
        np.testing.assert_array_equal(boundary_band(mask, (0.5, 0.5), distance), border)
    # Below only the column spacing, rows reach one pixel: still just the border.
    np.testing.assert_array_equal(boundary_band(mask, (0.5, 0.8), 0.6), border)


def test_symmetric_and_transposable() -> None:
    shapes = random_shapes(60, 5)
    for (a, rng), (b, _) in zip(shapes, shapes, strict=False):
        b = np.resize(b, a.shape)
        if not b.any():
            continue
        spacing = tuple(float(s) for s in rng.uniform(0.1, 2.0, 2))
        distance = float(rng.uniform(0, 8))
        value = boundary_iou(a, b, spacing, distance)
        assert boundary_iou(b, a, spacing, distance) == value
        assert boundary_iou(a.T, b.T, spacing[::-1], distance) == value


# --------------------------------------------------------------------------------------------
# Edge cases


def test_empty_masks() -> None:
    empty = np.zeros((20, 30), dtype=bool)
    mask = disk((20, 30), (10, 15), 5)
    assert boundary_iou(empty, empty, (0.5, 0.5), 1.0) == 1.0
    assert boundary_iou(empty, mask, (0.5, 0.5), 1.0) == 0.0
    assert boundary_iou(mask, empty, (0.5, 0.5), 100.0) == 0.0
    assert not boundary_band(empty, (1, 1), 3.0).any()


def test_full_image_masks() -> None:
    """Beyond the image is outside: a full-image mask's band is a frame along the image edge."""
    full = np.ones((25, 30), dtype=bool)
    assert boundary_iou(full, full, (0.3, 0.4), 1.0) == 1.0
    band = boundary_band(full, (1.0, 1.0), 2.0)
    inner = np.zeros_like(full)
    inner[2:-2, 2:-2] = True
    np.testing.assert_array_equal(band, full & ~inner)
    np.testing.assert_array_equal(band, reference_band(full, 2))
    half = full.copy()
    half[:, 15:] = False
    assert boundary_iou(half, full, (1.0, 1.0), 2.0) == reference_boundary_iou(full, half, 2)


def test_single_pixels_and_thin_lines() -> None:
    dot = np.zeros((9, 9), dtype=bool)
    dot[4, 4] = True
    np.testing.assert_array_equal(boundary_band(dot, (1, 1), 5.0), dot)
    assert boundary_iou(dot, np.roll(dot, 1, axis=0), (1, 1), 5.0) == 0.0
    line = np.zeros((20, 20), dtype=bool)
    line[3:17, 10] = True
    assert boundary_iou(line, line | np.roll(line, 1, axis=1), (1, 1), 1.0) == 0.5


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.ones((4, 4)), np.ones((4, 5)), (1, 1), 1.0), "differs"),
        ((np.ones(4), np.ones(4), (1, 1), 1.0), "2-D"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, math.inf), 1.0), "spacing"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), -1.0), "distance"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), math.inf), "distance"),
        ((np.ones((4, 4)), np.ones((4, 4)), (1, 1), None), "distance"),
    ],
)
def test_bad_input_raises_value_error(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        boundary_iou(*args)
