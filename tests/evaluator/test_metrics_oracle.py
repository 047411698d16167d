"""score_class against medpy 0.5.2 on real HC18 and PSFHS labels with perturbed predictions.

medpy is the oracle: dc, jc, hd, hd95 and assd are called as published; hd95_max and masd
(which medpy does not offer) are built from medpy's own directed surface distances.
"""

from __future__ import annotations

import numpy as np
import pytest
from medpy.metric import binary as medpy_binary

from evaluator.metrics.perturbations import PERTURBATIONS
from evaluator.metrics.segmentation import SEGMENTATION_METRICS, score_class
from tests.evaluator.conftest import hc18_head_mask, read_psfhs_label

TOLERANCE = 1e-6
CASES_PER_DATASET = 15
# medpy's private helper: the directed distances all its distance metrics are built from.
medpy_surface_distances = getattr(medpy_binary, "__surface_distances")


def medpy_scores(pred, ref, spacing, public_api: bool) -> dict:
    """All seven metrics the way medpy 0.5.2 computes (or would compute) them.

    With `public_api`, dc/jc/hd/hd95/assd/asd are medpy's published functions; without, the
    same formulas (copied from their source) are applied to one pair of medpy's directed
    distance arrays, which saves six of eight full-image EDTs on the large HC18 images.
    """
    forward = medpy_surface_distances(pred, ref, spacing)
    backward = medpy_surface_distances(ref, pred, spacing)
    derived = {
        "dice": medpy_binary.dc(pred, ref),
        "iou": medpy_binary.jc(pred, ref),
        "hd": max(forward.max(), backward.max()),
        "hd95": np.percentile(np.hstack((forward, backward)), 95),
        "hd95_max": max(np.percentile(forward, 95), np.percentile(backward, 95)),
        "assd": np.concatenate((forward, backward)).mean(),
        "masd": (forward.mean() + backward.mean()) / 2,
    }
    if public_api:
        derived["hd"] = medpy_binary.hd(pred, ref, spacing)
        derived["hd95"] = medpy_binary.hd95(pred, ref, spacing)
        derived["assd"] = medpy_binary.assd(pred, ref, spacing)
        asd_forward = medpy_binary.asd(pred, ref, spacing)
        derived["masd"] = (asd_forward + medpy_binary.asd(ref, pred, spacing)) / 2
    return derived


def assert_matches_medpy(pred, ref, spacing, label: str, public_api: bool = True) -> None:
    expected = medpy_scores(pred, ref, spacing, public_api)
    score = score_class(pred, ref, spacing)
    assert score.flags == ()
    assert set(score.metrics) == set(SEGMENTATION_METRICS)
    for name in SEGMENTATION_METRICS:
        assert score.metrics[name] == pytest.approx(expected[name], abs=TOLERANCE), (
            f"{label}: {name} {score.metrics[name]!r} != medpy {expected[name]!r}"
        )


def evenly_spaced(items: list, count: int) -> list:
    """A deterministic sample spread over the whole list (not just its first entries)."""
    step = max(1, len(items) // count)
    return items[::step][:count]


def test_hc18_heads_match_medpy(hc18_cases) -> None:
    for index, case in enumerate(evenly_spaced(hc18_cases, CASES_PER_DATASET)):
        ref = hc18_head_mask(case)
        spacing = (case.pixel_mm, case.pixel_mm)
        for name, perturb in PERTURBATIONS.items():
            pred = perturb(ref)
            label = f"HC18 {case.name} {name}"
            # medpy's public functions on a few cases, its directed distances on the rest.
            assert_matches_medpy(pred, ref, spacing, label, public_api=index < 3)


def test_psfhs_both_classes_match_medpy(psfhs_labels) -> None:
    for path in evenly_spaced(psfhs_labels, CASES_PER_DATASET):
        label = read_psfhs_label(path)
        for class_id in (1, 2):
            ref = label == class_id
            for name, perturb in PERTURBATIONS.items():
                pred = perturb(ref)
                assert_matches_medpy(
                    pred, ref, (1.0, 1.0), f"PSFHS {path.name} class {class_id} {name}"
                )


@pytest.mark.parametrize("spacing", [(0.1, 0.25), (0.3, 0.07), (1.0, 1.7)])
def test_anisotropic_spacing_matches_medpy(psfhs_labels, hc18_cases, spacing) -> None:
    for path in evenly_spaced(psfhs_labels, 4):
        label = read_psfhs_label(path)
        for class_id in (1, 2):
            ref = label == class_id
            for name in ("shift_small", "shift_large", "hole", "stray_blob", "cut_by_border"):
                pred = PERTURBATIONS[name](ref)
                assert_matches_medpy(pred, ref, spacing, f"PSFHS {path.name} {class_id} {name}")
    ref = hc18_head_mask(hc18_cases[0])
    for name in ("shift_dilate", "cut_by_border"):
        assert_matches_medpy(PERTURBATIONS[name](ref), ref, spacing, f"HC18 {name} {spacing}")


def test_reference_cut_by_border_matches_medpy(hc18_cases) -> None:
    """Both masks touch the image edge: border pixels there must count as surface, as in medpy."""
    for case in evenly_spaced(hc18_cases, 5):
        head = hc18_head_mask(case)
        ref = PERTURBATIONS["cut_by_border"](head)
        for name in ("identity", "shift_small", "erode", "dilate"):
            pred = PERTURBATIONS[name](ref)
            spacing = (case.pixel_mm, case.pixel_mm)
            assert_matches_medpy(pred, ref, spacing, f"{case.name} {name}", public_api=False)
