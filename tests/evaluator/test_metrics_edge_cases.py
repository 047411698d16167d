"""score_class where medpy raises (empty masks) or is easy to get wrong (tiny masks, edges)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from evaluator.metric_spec import metric_directions
from evaluator.metrics.segmentation import SEGMENTATION_METRICS, ClassScore, score_class
from evaluator.metrics.surface import border_mask, percentile
from tests.evaluator.test_metrics_oracle import assert_matches_medpy

DISTANCES = ("hd", "hd95", "hd95_max", "assd", "masd")


def disk(shape, center, radius) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def test_both_empty_is_perfect_and_flagged() -> None:
    empty = np.zeros((40, 50), dtype=bool)
    score = score_class(empty, empty, (0.5, 0.5))
    assert score.flags == ("both_empty",)
    assert score.metrics["dice"] == 1.0 and score.metrics["iou"] == 1.0
    assert all(score.metrics[name] == 0.0 for name in DISTANCES)


@pytest.mark.parametrize("empty_side", ["prediction", "reference"])
def test_one_empty_scores_worst_with_image_diagonal(empty_side) -> None:
    mask = disk((40, 50), (20, 25), 8)
    empty = np.zeros_like(mask)
    pred, ref = (empty, mask) if empty_side == "prediction" else (mask, empty)
    score = score_class(pred, ref, (0.5, 0.2))
    assert score.flags == (f"empty_{empty_side}",)
    assert score.metrics["dice"] == 0.0 and score.metrics["iou"] == 0.0
    diagonal = math.hypot(40 * 0.5, 50 * 0.2)
    assert all(score.metrics[name] == pytest.approx(diagonal) for name in DISTANCES)


def test_identical_masks_are_perfect() -> None:
    mask = disk((64, 64), (30, 33), 12)
    score = score_class(mask, mask, (1.0, 1.0))
    assert score.metrics["dice"] == 1.0 and score.metrics["iou"] == 1.0
    assert all(score.metrics[name] == 0.0 for name in DISTANCES)


@pytest.mark.parametrize(
    "pred_pixel, ref_pixel", [((5, 5), (5, 5)), ((0, 0), (9, 11)), ((3, 7), (3, 8))]
)
def test_single_pixels_match_medpy(pred_pixel, ref_pixel) -> None:
    pred = np.zeros((10, 12), dtype=bool)
    ref = np.zeros_like(pred)
    pred[pred_pixel] = True
    ref[ref_pixel] = True
    assert_matches_medpy(pred, ref, (0.3, 0.8), f"{pred_pixel} vs {ref_pixel}")


def test_single_pixel_against_disk_matches_medpy() -> None:
    ref = disk((30, 30), (15, 15), 6)
    pred = np.zeros_like(ref)
    pred[2, 27] = True
    assert_matches_medpy(pred, ref, (1.0, 1.0), "pixel vs disk")


def test_masks_touching_every_image_edge_match_medpy() -> None:
    """Pixels on the image edge are border pixels (scipy's border_value=0), as in medpy."""
    ref = np.ones((20, 30), dtype=bool)
    pred = np.zeros_like(ref)
    pred[:, :18] = True  # touches top, bottom and left edge
    assert_matches_medpy(pred, ref, (0.5, 0.25), "full image vs left part")
    corner = disk((20, 30), (0, 29), 9)
    assert_matches_medpy(corner, ref, (1.0, 1.0), "corner disk vs full image")


def test_thin_lines_and_non_boolean_input_match_medpy() -> None:
    ref = np.zeros((25, 25), dtype=np.uint8)
    ref[12, 2:23] = 1  # one pixel thick: every pixel is border
    pred = np.zeros((25, 25), dtype=np.int32)
    pred[3:22, 11] = 7  # nonzero counts as foreground, like medpy
    assert_matches_medpy(pred.astype(bool), ref.astype(bool), (1.0, 1.0), "cross")
    assert score_class(pred, ref, (1.0, 1.0)) == score_class(pred != 0, ref != 0, (1.0, 1.0))


def test_border_is_mask_minus_four_connected_erosion() -> None:
    from scipy.ndimage import binary_erosion, generate_binary_structure

    rng = np.random.default_rng(7)
    mask = rng.random((33, 41)) < 0.6
    expected = mask ^ binary_erosion(mask, generate_binary_structure(2, 1), iterations=1)
    assert np.array_equal(border_mask(mask), expected)


def test_percentile_equals_numpy_linear() -> None:
    rng = np.random.default_rng(3)
    for size in (1, 2, 3, 19, 20, 21, 1000):
        values = rng.random(size) * 50
        values[: size // 3] = values[0]  # ties, as real distance arrays have
        for q in (0, 50, 95, 100):
            assert percentile(values, q) == pytest.approx(np.percentile(values, q), abs=1e-12)


@pytest.mark.parametrize(
    "pred, ref, spacing, message",
    [
        (np.zeros((4, 4, 2), bool), np.zeros((4, 4, 2), bool), (1, 1), "2-D"),
        (np.zeros((4, 4), bool), np.zeros((4, 5), bool), (1, 1), "differs"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), (1, 0), "positive"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), (1, float("nan")), "positive"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), (1,), "two numbers"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), "ab", "two numbers"),
        (np.array([["a"] * 4] * 4), np.zeros((4, 4), bool), (1, 1), "dtype"),
    ],
)
def test_bad_input_gets_a_clear_error(pred, ref, spacing, message) -> None:
    with pytest.raises(ValueError, match=message):
        score_class(pred, ref, spacing)


def test_interface_is_picklable_and_complete() -> None:
    """Scoring runs score_class in a process pool: the function and its result must pickle."""
    assert pickle.loads(pickle.dumps(score_class)) is score_class
    mask = disk((20, 20), (10, 10), 4)
    score = score_class(mask, mask, (1.0, 1.0))
    assert isinstance(pickle.loads(pickle.dumps(score)), ClassScore)
    assert SEGMENTATION_METRICS == ("dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd")
    assert all(name in metric_directions() for name in SEGMENTATION_METRICS)


@pytest.mark.parametrize("spacing", [(0.37, 0.37), (0.2, 0.9), (1.3, 0.4)])
def test_column_scan_equals_scipy_edt(spacing) -> None:
    """The nearest-border search is an exact EDT at the queried pixels, also for sparse,
    far-apart targets (long scans) and anisotropic pixels."""
    from scipy.ndimage import distance_transform_edt

    from evaluator.metrics.surface import nearest_border_distances

    rng = np.random.default_rng(11)
    target = np.zeros((300, 420), dtype=bool)
    target[rng.integers(0, 300, 40), rng.integers(0, 420, 40)] = True
    query = rng.random(target.shape) < 0.05
    expected = distance_transform_edt(~target, sampling=spacing)[query]
    got = nearest_border_distances(query, target, spacing)
    assert np.max(np.abs(got - expected)) < 1e-9


def test_single_target_pixel_in_a_far_corner() -> None:
    """A target with one pixel: every column but one is empty, the scan must cross them all."""
    target = np.zeros((7, 200), dtype=bool)
    target[6, 199] = True
    query = np.zeros_like(target)
    query[0, 0] = query[6, 198] = True
    from evaluator.metrics.surface import nearest_border_distances

    got = nearest_border_distances(query, target, (0.5, 2.0))
    assert got == pytest.approx([np.hypot(6 * 0.5, 199 * 2.0), 2.0], abs=1e-12)


def test_random_masks_match_medpy() -> None:
    """Noise masks: many small components, one-pixel lines, pixels on every image edge."""
    rng = np.random.default_rng(5)
    for trial in range(40):
        shape = tuple(int(s) for s in rng.integers(3, 40, 2))
        pred = rng.random(shape) < rng.uniform(0.05, 0.9)
        ref = rng.random(shape) < rng.uniform(0.05, 0.9)
        if not pred.any() or not ref.any():
            continue
        spacing = tuple(float(s) for s in rng.uniform(0.05, 2.0, 2))
        assert_matches_medpy(pred, ref, spacing, f"trial {trial} {shape} {spacing}")


def test_directed_distances_equal_medpys_in_its_order() -> None:
    """The public per-pixel arrays: medpy's __surface_distances, same pixels, same order."""
    from medpy.metric import binary as medpy_binary

    from evaluator.metrics.surface import directed_surface_distances

    medpy_surface_distances = getattr(medpy_binary, "__surface_distances")
    ref = disk((60, 70), (30, 30), 15)
    pred = np.roll(ref, (4, -3), axis=(0, 1)) | disk((60, 70), (5, 62), 3)
    got = directed_surface_distances(pred, ref, (0.4, 0.7))
    forward = medpy_surface_distances(pred, ref, (0.4, 0.7))
    backward = medpy_surface_distances(ref, pred, (0.4, 0.7))
    assert np.allclose(got.pred_to_ref, forward, rtol=0, atol=1e-9)
    assert np.allclose(got.ref_to_pred, backward, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="empty"):
        directed_surface_distances(np.zeros_like(ref), ref, (1.0, 1.0))


def test_kernel_decorator_compiles_without_a_cache_location() -> None:
    """numba refuses cache=True where no cache folder can be used (here: source without a
    file); the kernels must then still compile instead of failing the import."""
    from evaluator.metrics.compiled import kernel

    namespace: dict = {}
    exec("def double(x):\n    return 2 * x\n", namespace)  # no source file: no cache locator
    assert kernel(namespace["double"])(21) == 42
