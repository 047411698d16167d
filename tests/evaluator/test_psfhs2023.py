"""PSFHS 2023 challenge scoring, checked against values computed by hand from the published
formulas (smoothed Dice, SimpleITK HD / Maurer ASD in pixels, empty-prediction penalties,
AoP geometry, S = 0.25 mDSC + 0.25 [0.5 (1 - mHD/100) + 0.5 (1 - mASD/100)] + 0.5 (1 - dAoP/180))."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from evaluator.scorers import psfhs2023 as p


def _mask(shape=(20, 20), pixels=()):
    m = np.zeros(shape, np.uint8)
    for r, c in pixels:
        m[r, c] = 1
    return m


def test_smoothed_dice_by_hand() -> None:
    pred = _mask(pixels=[(1, 1), (1, 2)])
    ref = _mask(pixels=[(1, 1), (1, 2), (1, 3)])
    assert p.smoothed_dice(pred, ref) == pytest.approx((2 * 2 + 1) / (2 + 3 + 1))


def test_hd_and_asd_in_pixels_by_hand() -> None:
    pred = _mask(pixels=[(5, 8)])
    ref = _mask(pixels=[(5, 5)])
    assert p.hausdorff(pred, ref) == pytest.approx(3.0)
    # single-pixel objects are their own contour: (3 + 3) / (1 + 1)
    assert p.average_surface_distance(pred, ref) == pytest.approx(3.0)
    square = np.zeros((20, 20), np.uint8)
    square[5:9, 5:9] = 1
    shifted = np.roll(square, 2, axis=1)
    assert p.hausdorff(shifted, square) == pytest.approx(2.0)


def test_empty_prediction_penalty() -> None:
    ref = _mask(pixels=[(5, 5)])
    assert p.group_scores(np.zeros_like(ref), ref) == {"dice": 0.0, "hd": 100.0, "asd": 100.0}


def test_aop_geometry_by_hand() -> None:
    # PS axis from (-10, 0) to (10, 0) (OpenCV angle 90 -> axis h at 0 degrees), FH a circle of
    # radius 10 at (30, 20). Tangents from (10, 0) make 45 +- asin(10 / sqrt(800)) degrees with
    # the x axis; the challenge's root is the lower one, so AoP = 180 - (45 - asin(...)).
    ps = ((0.0, 0.0), (2.0, 20.0), 90.0)
    fh = ((30.0, 20.0), (20.0, 20.0), 90.0)
    far, vertex = p.ps_axis_endpoints(ps)
    assert far == pytest.approx((-10.0, 0.0)) and vertex == pytest.approx((10.0, 0.0))
    tangent = p.fh_tangent_point(fh, vertex)
    assert math.dist(tangent, (30.0, 20.0)) == pytest.approx(10.0)
    expected = 180.0 - (45.0 - math.degrees(math.asin(10.0 / math.sqrt(800.0))))
    assert p.angle_at(vertex, far, tangent) == pytest.approx(expected, abs=1e-9)


def test_aop_from_a_drawn_label_map() -> None:
    label = np.zeros((256, 256), np.uint8)
    cv2.ellipse(label, (60, 100), (30, 6), 0, 0, 360, 1, -1)  # horizontal pubic symphysis
    cv2.circle(label, (160, 170), 45, 2, -1)  # fetal head
    ps = p.fit_structure_ellipse(label == 1)
    fh = p.fit_structure_ellipse(label == 2)
    assert ps is not None and fh is not None
    aop = p.angle_of_progression(label)
    far, vertex = p.ps_axis_endpoints(ps)
    assert aop == pytest.approx(p.angle_at(vertex, far, p.fh_tangent_point(fh, vertex)))
    # the same geometry computed analytically from the drawn shapes (within fitting error)
    vx, vy = (90.0, 100.0) if vertex[0] > 60 else (30.0, 100.0)
    d = math.dist((vx, vy), (160, 170))
    to_centre = math.degrees(math.atan2(170 - vy, 160 - vx))
    candidates = [
        to_centre - math.degrees(math.asin(45 / d)),
        to_centre + math.degrees(math.asin(45 / d)),
    ]
    axis_dir = 0.0 if vx > 60 else 180.0
    analytic = [abs(((c - (axis_dir + 180.0)) + 180) % 360 - 180) for c in candidates]
    assert min(abs(aop - a) for a in analytic) < 2.0
    # no PS -> AoP 0 (the challenge's convention)
    assert p.angle_of_progression(np.where(label == 1, 0, label)) == 0.0


def test_challenge_score_by_hand() -> None:
    case_a = {
        "ps": {"dice": 0.8, "hd": 10.0, "asd": 2.0},
        "fh": {"dice": 0.9, "hd": 20.0, "asd": 4.0},
        "all": {"dice": 1.0, "hd": 0.0, "asd": 0.0},
        "aop": {"aop_abs_diff": 18.0},
    }
    case_b = {
        "ps": {"dice": 0.0, "hd": 100.0, "asd": 100.0},
        "fh": {"dice": 0.6, "hd": 30.0, "asd": 6.0},
        "all": {"dice": 0.5, "hd": 40.0, "asd": 8.0},
        "aop": {"aop_abs_diff": 36.0},
    }
    mdsc = (0.8 + 0.9 + 1.0 + 0.0 + 0.6 + 0.5) / 6
    mhd = (10 + 20 + 0 + 100 + 30 + 40) / 6
    masd = (2 + 4 + 0 + 100 + 6 + 8) / 6
    maop = (18 + 36) / 2
    s = (
        0.25 * mdsc
        + 0.25 * (0.5 * (1 - mhd / 100) + 0.5 * (1 - masd / 100))
        + 0.5 * (1 - maop / 180)
    )
    assert p.challenge_score([case_a, case_b]) == pytest.approx(s, abs=1e-8)
    per_case = [p.per_case_score(c) for c in (case_a, case_b)]
    assert np.mean(per_case) == pytest.approx(s, abs=1e-12)


def test_real_labels_perfect_and_shifted(psfhs_labels) -> None:
    from evaluator.io.masks import read_label_map

    for path in psfhs_labels[:5]:
        ref = read_label_map(path)
        metrics, flags = p.case_score(ref, ref)
        assert flags == []
        assert metrics["challenge"]["score"] == pytest.approx(1.0)
        assert 60.0 < metrics["aop"]["aop_ref"] < 180.0
        shifted, _ = p.case_score(np.roll(ref, 4, axis=1), ref)
        assert shifted["fh"]["hd"] == pytest.approx(4.0)
        assert shifted["aop"]["aop_abs_diff"] < 1.0  # AoP is translation invariant


def _published_hd(pred: np.ndarray, ref: np.ndarray) -> float:
    """The challenge's call as published: HausdorffDistanceImageFilter on the whole masks."""
    import SimpleITK as sitk

    a = sitk.GetImageFromArray(pred.astype(np.uint8))
    b = sitk.GetImageFromArray(ref.astype(np.uint8))
    hd = sitk.HausdorffDistanceImageFilter()
    hd.Execute(a, b)
    return hd.GetHausdorffDistance()


def _published_asd(pred: np.ndarray, ref: np.ndarray) -> float:
    """The challenge's ASD as published: unsquared Maurer maps, float32 sums."""
    import SimpleITK as sitk

    def dist(mask):
        f = sitk.SignedMaurerDistanceMapImageFilter()
        f.SetUseImageSpacing(True)
        f.SetSquaredDistance(False)
        return np.abs(
            sitk.GetArrayFromImage(f.Execute(sitk.GetImageFromArray(mask.astype(np.uint8))))
        )

    a, b = dist(pred), dist(ref)
    a_edge = np.zeros(a.shape, a.dtype)
    a_edge[a == 0] = 1
    b_edge = np.zeros(b.shape, b.dtype)
    b_edge[b == 0] = 1
    a_num, b_num = np.sum(a_edge), np.sum(b_edge)
    a[b_edge == 0] = 0.0
    b[a_edge == 0] = 0.0
    return float((np.sum(a) + np.sum(b)) / (a_num + b_num))


def test_fast_distances_equal_the_published_calls_bit_for_bit(psfhs_labels) -> None:
    from scipy import ndimage

    from evaluator.io.masks import read_label_map

    rng = np.random.default_rng(7)
    for i, path in enumerate(psfhs_labels[:12]):
        ref = read_label_map(path)
        preds = [
            np.roll(ref, 1 + i % 5, axis=i % 2),
            ndimage.binary_dilation(ref == 2, iterations=2).astype(np.uint8) * 2,
            np.where(rng.random(ref.shape) < 0.001, 1, ref).astype(np.uint8),  # far outliers
        ]
        for pred in preds:
            for value in (1, 2):
                p_mask, r_mask = pred == value, ref == value
                if not p_mask.any():
                    continue
                scores = p.group_scores(p_mask, r_mask)
                assert scores["hd"] == _published_hd(p_mask, r_mask)
                assert scores["asd"] == _published_asd(p_mask, r_mask)


def _ring_and_contour_asd(ref_mask: np.ndarray) -> float:
    """Independent ASD of a whole-image prediction whose surface is the image border.

    The prediction's contour is the outermost ring of pixels; the reference's is ITK's (the
    published definition: |SignedMaurer| == 0). Distances by plain geometry and scipy's EDT.
    """
    import SimpleITK as sitk
    from scipy import ndimage

    rows, cols = ref_mask.shape
    f = sitk.SignedMaurerDistanceMapImageFilter()
    f.SetSquaredDistance(False)
    ref_map = sitk.GetArrayFromImage(f.Execute(sitk.GetImageFromArray(ref_mask.astype(np.uint8))))
    ref_contour = ref_map == 0
    ring = np.zeros(ref_mask.shape, bool)
    ring[[0, -1], :] = True
    ring[:, [0, -1]] = True
    r, c = np.nonzero(ref_contour)
    to_border = np.minimum.reduce([r, c, rows - 1 - r, cols - 1 - c]).astype(np.float64)
    to_ref = ndimage.distance_transform_edt(~ref_contour)[ring]
    return float((to_border.sum() + to_ref.sum()) / (ring.sum() + ref_contour.sum()))


def test_whole_image_prediction_has_finite_distances(psfhs_labels) -> None:
    """A class predicted over the whole image: the image border is its surface.

    ITK finds no boundary in a mask without background and reports FLT_MAX distances, which
    gave HD and ASD of 1.8e19 and a case score of -3e16. The HD must equal the challenge's
    own HausdorffDistanceImageFilter call (finite there), the ASD the border-as-surface value.
    """
    from scipy import ndimage

    from evaluator.io.masks import read_label_map

    for path in psfhs_labels[:3]:
        ref = read_label_map(path)
        for value in (1, 2):
            full = np.ones(ref.shape, bool)
            r_mask = ref == value
            scores = p.group_scores(full, r_mask)
            far = float(ndimage.distance_transform_edt(~r_mask).max())
            assert scores["hd"] == _published_hd(full, r_mask) == pytest.approx(far)
            assert scores["asd"] == pytest.approx(_ring_and_contour_asd(r_mask), rel=1e-5)
            assert 0 < scores["asd"] < scores["hd"] < math.hypot(*ref.shape)
            # a reference with no background is measured the same way (symmetry)
            swapped = p.group_scores(r_mask, full)
            assert swapped["hd"] == scores["hd"] and swapped["asd"] == pytest.approx(scores["asd"])
        metrics, flags = p.case_score(np.full(ref.shape, 2, np.uint8), ref)
        assert flags == ["ps:empty_prediction"]
        for group in ("fh", "all"):
            assert 1 < metrics[group]["hd"] < math.hypot(*ref.shape)
            assert 1 < metrics[group]["asd"] < metrics[group]["hd"]
        assert -1.0 < metrics["challenge"]["score"] < 0.5


def test_identical_masks_have_positive_zero_distances(psfhs_labels) -> None:
    """ITK's contour pixels are -0.0 in its signed map; a HD of '-0.0' must not come out."""
    from evaluator.io.masks import read_label_map

    ref = read_label_map(psfhs_labels[0])
    metrics, _ = p.case_score(ref, ref)
    for group in p.GROUPS:
        for metric in ("hd", "asd"):
            assert metrics[group][metric] == 0.0
            assert math.copysign(1.0, metrics[group][metric]) == 1.0, (group, metric)
