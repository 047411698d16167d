"""Biometry from masks: HC against the HC18 reference CSV, analytic ellipses, femur bars."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluator.geometry.ellipse import Ellipse, rasterize_ellipse
from evaluator.metrics.biometry import (
    abdominal_circumference_mm,
    absolute_error_mm,
    femur_length_mm,
    head_circumference_mm,
)
from evaluator.metrics.perturbations import with_stray_blob
from tests.evaluator.conftest import hc18_head_mask

HC18_TOLERANCE_MM = 0.5


def test_hc_of_every_filled_hc18_mask_matches_the_csv(hc18_cases) -> None:
    failures = []
    for case in hc18_cases:
        measured = head_circumference_mm(hc18_head_mask(case), (case.pixel_mm, case.pixel_mm))
        if not abs(measured - case.hc_mm) <= HC18_TOLERANCE_MM:
            failures.append(f"{case.name}: {measured:.3f} vs {case.hc_mm:.3f} mm")
    assert len(hc18_cases) >= 400
    assert failures == []


@pytest.mark.parametrize(
    "ellipse, spacing",
    [
        (Ellipse(40.0, 30.0, 25.0, 15.0, 0.3), (0.2, 0.2)),
        (Ellipse(50.0, 45.0, 30.0, 29.0, 1.2), (0.1, 0.1)),
        (Ellipse(40.0, 30.0, 25.0, 12.0, -0.7), (0.15, 0.3)),  # anisotropic pixels
    ],
)
def test_hc_of_rasterised_ellipse_matches_analytic_perimeter(ellipse, spacing) -> None:
    shape = (int(70 / spacing[0]), int(90 / spacing[1]))
    mask = rasterize_ellipse(ellipse, shape, spacing)
    expected = ellipse.perimeter
    pixel = max(spacing)
    assert head_circumference_mm(mask, spacing) == pytest.approx(expected, abs=pixel)
    assert abdominal_circumference_mm(mask, spacing) == head_circumference_mm(mask, spacing)


def test_hc_ignores_stray_blobs_and_holes() -> None:
    ellipse = Ellipse(40.0, 30.0, 25.0, 15.0, 0.3)
    mask = rasterize_ellipse(ellipse, (400, 500), (0.2, 0.2))
    clean = head_circumference_mm(mask, (0.2, 0.2))
    noisy = with_stray_blob(mask, radius=10)
    noisy[140:160, 190:210] = False  # a hole inside the head
    assert head_circumference_mm(noisy, (0.2, 0.2)) == pytest.approx(clean, abs=1e-9)


def test_head_cut_by_the_image_border_is_fitted_on_the_visible_outline() -> None:
    ellipse = Ellipse(12.0, 30.0, 25.0, 15.0, 0.2)  # centre 12 mm from the left edge
    mask = rasterize_ellipse(ellipse, (300, 400), (0.2, 0.2))
    assert mask[:, 0].any(), "the head must be cut by the left edge"
    assert head_circumference_mm(mask, (0.2, 0.2)) == pytest.approx(ellipse.perimeter, abs=0.3)


def test_no_head_gives_nan() -> None:
    assert math.isnan(head_circumference_mm(np.zeros((30, 30), bool), (1.0, 1.0)))
    tiny = np.zeros((30, 30), bool)
    tiny[5, 5] = True
    assert math.isnan(head_circumference_mm(tiny, (1.0, 1.0))), "4 edge points fit no ellipse"
    assert math.isnan(absolute_error_mm(math.nan, 170.0))


def rasterised_bar(shape, spacing, center_mm, length_mm, width_mm, angle_rad) -> np.ndarray:
    """A rotated rectangle (a femur-like bar): pixels whose centre lies inside it."""
    y = (np.arange(shape[0]) * spacing[0])[:, None] - center_mm[1]
    x = (np.arange(shape[1]) * spacing[1])[None, :] - center_mm[0]
    along = x * math.cos(angle_rad) + y * math.sin(angle_rad)
    across = -x * math.sin(angle_rad) + y * math.cos(angle_rad)
    return (np.abs(along) <= length_mm / 2) & (np.abs(across) <= width_mm / 2)


@pytest.mark.parametrize("spacing", [(0.1, 0.1), (0.2, 0.05), (0.05, 0.15)])
@pytest.mark.parametrize("angle_deg", [0.0, 27.0, 90.0, 133.0])
def test_femur_length_of_a_rasterised_bar(spacing, angle_deg) -> None:
    length_mm, width_mm = 40.0, 3.0
    shape = (int(60 / spacing[0]), int(60 / spacing[1]))
    mask = rasterised_bar(
        shape, spacing, (30.0, 30.0), length_mm, width_mm, math.radians(angle_deg)
    )
    mask[2:6, 2:6] = True  # a stray blob must not count
    # Max Feret diameter of the bar is its diagonal; pixel centres fall short by < 1 pixel/end.
    expected = math.hypot(length_mm, width_mm)
    pixel_diagonal = math.hypot(*spacing)
    measured = femur_length_mm(mask, spacing)
    assert expected - 2 * pixel_diagonal <= measured <= expected


def test_femur_length_of_single_pixel_and_empty() -> None:
    mask = np.zeros((10, 10), bool)
    assert math.isnan(femur_length_mm(mask, (1.0, 1.0)))
    mask[4, 4] = True
    assert femur_length_mm(mask, (1.0, 1.0)) == 0.0


def test_biometry_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="2-D"):
        head_circumference_mm(np.zeros((3, 3, 3)), (1.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        femur_length_mm(np.zeros((3, 3)), (1.0, -1.0))


def _reference_largest_component(mask: np.ndarray) -> np.ndarray | None:
    """The definition, on the full image: labelling, largest area (ties: the component whose
    first pixel comes first in raster order), outer contour filled."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    if count < 2:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    tied = 1 + np.flatnonzero(areas == areas.max())
    first_pixel = {int(label): np.flatnonzero(labels == label)[0] for label in tied}
    largest = min(first_pixel, key=first_pixel.get)
    component = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(component, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(component, contours, -1, 1, thickness=cv2.FILLED)
    return component.astype(bool)


def _reference_outline_points(region: np.ndarray) -> np.ndarray:
    """Crack midpoints by whole-array shifts (beyond the image: no edge), in the same order."""
    rows, cols = region.shape
    padded = np.pad(region, 1, constant_values=True)
    points = []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        neighbour = padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + cols]
        ys, xs = np.nonzero(region & ~neighbour)
        points.append(np.column_stack((xs + 0.5 * dx, ys + 0.5 * dy)))
    return np.concatenate(points).astype(np.float64)


def test_fast_region_and_outline_equal_their_definitions() -> None:
    """The cut-out region (no labelling for one outer contour) and the compiled crack-edge
    scan reproduce the plain full-image definitions exactly, on noise with many components,
    holes, islands in holes, one-pixel rows/columns and pixels on every image edge."""
    from evaluator.metrics.biometry import largest_component, outline_points_px

    rng = np.random.default_rng(2)
    shapes = [(1, 1), (1, 9), (9, 1), (2, 2), *(tuple(rng.integers(3, 45, 2)) for _ in range(80))]
    for shape in shapes:
        mask = rng.random(shape) < rng.uniform(0.1, 0.9)
        expected = _reference_largest_component(mask)
        got = largest_component(mask)
        if expected is None:
            assert got is None
            continue
        assert np.array_equal(got, expected), shape
        assert np.array_equal(outline_points_px(got), _reference_outline_points(expected)), shape
    ring = np.zeros((30, 30), dtype=bool)
    ring[5:25, 5:25] = True
    ring[8:22, 8:22] = False
    ring[12:18, 12:18] = True  # an island inside the hole
    assert np.array_equal(largest_component(ring), _reference_largest_component(ring))
    twins = np.zeros((20, 30), dtype=bool)
    twins[10:14, 2:6] = True
    twins[3:7, 20:24] = True  # same size, first in raster order: this one
    assert np.array_equal(largest_component(twins)[3:7, 20:24], np.ones((4, 4), dtype=bool))
    assert not largest_component(twins)[10:14, 2:6].any()


def test_warm_up_loads_every_kernel() -> None:
    from evaluator.metrics import warm_up

    warm_up()  # loads from numba's cache or compiles; must not raise


def _tied_twins(head: np.ndarray) -> np.ndarray:
    """A real head beside its own mirror image (equal areas: a tie broken by raster order),
    the left copy lower, plus a stray blob and a ring holding an island."""
    rows, cols = head.shape
    ys, xs = np.nonzero(head)
    cut = head[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = cut.shape
    canvas = np.zeros((h + 30, 2 * w + 40), dtype=bool)
    canvas[20 : 20 + h, 5 : 5 + w] = cut  # first pixel lower than the right copy's...
    canvas[10 : 10 + h, w + 30 : 2 * w + 30] = cut[:, ::-1]  # ...so this copy wins the tie
    canvas[2:8, 2:8] = True
    canvas[2:8, 4:6] = False
    return with_stray_blob(canvas, radius=4)


def test_largest_region_equals_its_definition_on_perturbed_hc18_heads(hc18_cases) -> None:
    """The flood-fill search over outer contours, on crops (row-strided views) as scoring
    passes them and on whole images, equals full-image labelling on real heads under every
    perturbation, several blobs and exact ties included."""
    from evaluator.metrics.biometry import largest_component, largest_region
    from evaluator.metrics.perturbations import PERTURBATIONS
    from evaluator.scorers.standard import _crop_to_foreground

    several = ties = 0
    for index, case in enumerate(hc18_cases[::12]):
        head = hc18_head_mask(case)
        masks = [perturb(head) for perturb in PERTURBATIONS.values()]
        masks.append(_tied_twins(masks[index % len(masks)]))
        for mask in masks:
            expected = _reference_largest_component(mask)
            assert np.array_equal(largest_component(mask), expected), case.name
            crop = _crop_to_foreground(mask)
            assert not crop.flags.c_contiguous or crop.shape == mask.shape
            region, y0, x0 = largest_region(crop)
            # The cut: the definition's bounding box plus a one-pixel margin inside the image
            # (the crop keeps that margin), at an offset that moves by the crop's own.
            ys, xs = np.nonzero(expected)
            r0, c0 = max(ys.min() - 1, 0), max(xs.min() - 1, 0)
            cut = expected[r0 : ys.max() + 2, c0 : xs.max() + 2]
            offset = np.argwhere(mask)[0] - np.argwhere(crop)[0]  # the crop's (row, col)
            assert (y0 + offset[0], x0 + offset[1]) == (r0, c0), case.name
            assert np.array_equal(region != 0, cut), case.name
            several += len(np.unique(_labels(mask))) > 2
            ties += mask is masks[-1]
    assert several >= 2 * len(hc18_cases[::12]) and ties == len(hc18_cases[::12])


def _labels(mask: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[1]
