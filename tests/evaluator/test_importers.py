"""Importers on the real HC18 and PSFHS releases in ../shared/data (skipped when absent)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluator.geometry.ellipse import Ellipse, rasterize_ellipse
from evaluator.importers.common import ImporterError
from evaluator.importers.hc18 import import_hc18, outline_ellipse, read_release_csv
from evaluator.importers.psfhs import import_psfhs
from evaluator.io.masks import read_image, read_label_map
from evaluator.truth import TruthSet


def test_hc18_every_case_is_filled_and_matches_the_reference_hc(
    shared_data: Path, hc18_truth: TruthSet
) -> None:
    release = shared_data / "hc18" / "training_set"
    rows = read_release_csv(shared_data / "hc18" / "training_set_pixel_size_and_HC.csv")
    assert len(hc18_truth.cases) == len(rows) == 402
    assert hc18_truth.sites() == ["hc18"]
    worst = 0.0
    for case, row in zip(hc18_truth.cases, rows, strict=True):
        assert case.case == Path(row.filename).stem
        pixel = row.pixel_size_mm
        assert case.spacing == (pixel, pixel)
        outline = read_label_map(release / f"{case.case}_Annotation.png")
        ellipse = outline_ellipse(outline, pixel)
        error = abs(ellipse.perimeter - float(case.extra["hc_mm"]))
        worst = max(worst, error)
        assert error < 0.5, f"{case.case}: HC {ellipse.perimeter:.2f} vs {case.extra['hc_mm']}"

        label = read_label_map(case.label_path)
        assert label.shape == outline.shape, case.case  # sizes vary: never assume 800x540
        assert set(np.unique(label)) == {0, 1}, case.case
        full_area = math.pi * ellipse.semi_axis_a * ellipse.semi_axis_b / pixel**2
        if not _touches_border(label):
            assert abs(label.sum() - full_area) < 0.02 * full_area, case.case
        # Filled, not an outline: the centre pixel is inside.
        cy = min(max(int(round(ellipse.center_y / pixel)), 0), label.shape[0] - 1)
        cx = min(max(int(round(ellipse.center_x / pixel)), 0), label.shape[1] - 1)
        assert label[cy, cx] == 1, case.case
        assert case.image_path is not None
        assert case.image_path.read_bytes() == (release / row.filename).read_bytes()
    assert worst < 0.5


def _touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


@pytest.mark.parametrize("name", ["186_HC", "346_HC"])
def test_hc18_heads_cut_by_the_border_are_filled_and_clipped(
    hc18_truth: TruthSet, name: str
) -> None:
    case = hc18_truth.by_case()[name]
    label = read_label_map(case.label_path)
    assert label.sum() > 1000
    assert _touches_border(label)
    # A plain hole fill of the open outline would leave the head (nearly) empty; the clipped
    # ellipse is a large, solid region.
    rows = np.flatnonzero(label.any(axis=1))
    assert len(rows) > 50


def test_hc18_cases_csv_layout(hc18_truth: TruthSet) -> None:
    with open(hc18_truth.root / "cases.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["case", "site", "spacing_row_mm", "spacing_col_mm", "hc_mm"]
    assert hc18_truth.by_case()["000_HC"].extra == {"hc_mm": "44.3"}
    assert "010_2HC" in hc18_truth.by_case()  # further frames of one exam keep their names
    assert TruthSet.load(hc18_truth.root).cases == hc18_truth.cases


def test_psfhs_import(psfhs_truth: TruthSet) -> None:
    assert len(psfhs_truth.cases) == 300
    assert psfhs_truth.sites() == ["psfhs"]
    for case in psfhs_truth.cases:
        assert case.spacing == (1.0, 1.0)
        label = read_label_map(case.label_path)
        assert label.shape == (256, 256)
        assert set(np.unique(label)) == {0, 1, 2}, case.case
    first = psfhs_truth.cases[0]
    assert first.case == "03744"
    image = read_image(first.image_path)
    assert image.shape == (256, 256) and image.dtype == np.uint8


def test_psfhs_images_are_the_release_planes(shared_data: Path, psfhs_truth: TruthSet) -> None:
    case = psfhs_truth.cases[0]
    release_image = read_image(shared_data / "psfhs" / "image_mha" / f"{case.case}.mha")
    assert np.array_equal(read_image(case.image_path), release_image)


def _mini_hc18(root: Path, with_annotation: bool = True) -> Path:
    """A two-image HC18-layout release: one head inside the image, one cut by the border."""
    folder = root / "training_set"
    folder.mkdir(parents=True)
    rows = ["filename,pixel size(mm),head circumference (mm)"]
    for name, ellipse in (
        ("000_HC", Ellipse(40.0, 30.0, 20.0, 12.0, 0.4)),
        ("001_HC", Ellipse(5.0, 30.0, 20.0, 15.0, 0.0)),
    ):
        shape, pixel = (60, 90), 1.0
        filled = rasterize_ellipse(ellipse, shape, (pixel, pixel))
        inner = rasterize_ellipse(
            Ellipse(ellipse.center_x, ellipse.center_y, ellipse.semi_axis_a - 1.2,
                    ellipse.semi_axis_b - 1.2, ellipse.angle_rad),
            shape,
            (pixel, pixel),
        )  # fmt: skip
        outline = (filled & ~inner).astype(np.uint8) * 255
        Image.fromarray(np.full(shape, 80, np.uint8)).save(folder / f"{name}.png")
        if with_annotation:
            Image.fromarray(outline).save(folder / f"{name}_Annotation.png")
        rows.append(f"{name}.png,{pixel},{ellipse.perimeter:.2f}")
    (root / "training_set_pixel_size_and_HC.csv").write_bytes("\r\n".join(rows).encode())
    return root


def test_hc18_import_of_a_small_release_with_progress(tmp_path: Path) -> None:
    truth = import_hc18(_mini_hc18(tmp_path / "release"), tmp_path / "out", progress=True)
    assert [c.case for c in truth.cases] == ["000_HC", "001_HC"]
    cut = read_label_map(truth.by_case()["001_HC"].label_path)
    assert cut[:, 0].any() and cut.sum() > 500


def test_hc18_import_reports_missing_annotations(tmp_path: Path) -> None:
    release = _mini_hc18(tmp_path / "release", with_annotation=False)
    with pytest.raises(ImporterError) as info:
        import_hc18(release, tmp_path / "out", progress=False)
    message = str(info.value)
    assert "2 HC18 case(s)" in message and "000_HC_Annotation.png is missing" in message


def test_importers_refuse_a_wrong_folder(tmp_path: Path) -> None:
    with pytest.raises(ImporterError, match="is this an HC18 release folder"):
        import_hc18(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(ImporterError, match="is this a PSFHS release folder"):
        import_psfhs(tmp_path, tmp_path / "out", progress=False)
