"""Truth-set folders: writing, loading, and reporting every defect of a broken one at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluator.io.masks import read_image, read_label_map, write_label_map
from evaluator.truth import TruthSet, TruthSetError, read_cases_csv, write_truth_set


def _label(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 3, (12, 16)).astype(np.uint8)


def test_write_and_load_round_trip(tmp_path: Path) -> None:
    image_file = tmp_path / "src.png"
    write_label_map(image_file, _label(9) * 80)
    truth = write_truth_set(
        tmp_path / "t",
        [
            ("a", "north", (0.5, 0.25), _label(1), {"hc_mm": "101.5"}),
            ("b", "south", (1.0, 1.0), _label(2), {"note": "x"}),
            ("c", "north", (1.0, 1.0), _label(3), {}),
        ],
        images={"a": np.full((12, 16), 7, np.uint8), "b": image_file},
        label_suffix=".nii.gz",
    )
    assert [c.case for c in truth.cases] == ["a", "b", "c"]
    assert truth.sites() == ["north", "south"]
    a = truth.by_case()["a"]
    assert a.spacing == (0.5, 0.25)
    assert a.extra == {"hc_mm": "101.5", "note": ""}
    assert a.label_path.name == "a.nii.gz"
    assert np.array_equal(read_label_map(a.label_path), _label(1))
    assert read_image(a.image_path)[0, 0] == 7
    assert truth.by_case()["b"].image_path.read_bytes() == image_file.read_bytes()
    assert truth.by_case()["c"].image_path is None
    assert TruthSet.load(truth.root).cases == truth.cases


def test_every_defect_is_listed(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write_label_map(root / "labels" / "ok.png", _label(1))
    write_label_map(root / "labels" / "dup.png", _label(1))
    write_label_map(root / "labels" / "two.png", _label(1))
    write_label_map(root / "labels" / "two.mha", _label(1))
    write_label_map(root / "labels" / "stray.png", _label(1))
    write_label_map(root / "labels" / "neg.png", _label(1))
    (root / "cases.csv").write_text(
        "case,site,spacing_row_mm,spacing_col_mm\n"
        "ok,s,1,1\n"
        "dup,s,1,1\n"
        "dup,s,1,1\n"
        "nolabel,s,1,1\n"
        "two,s,1,1\n"
        "neg,s,-1,abc\n"
        ",s,1,1\n"
    )
    with pytest.raises(TruthSetError) as info:
        TruthSet.load(root)
    message = str(info.value)
    for words in (
        "line 4 (case dup): duplicate case 'dup'",
        "line 5 (case nolabel): no label file labels/nolabel",
        "line 6 (case two): several label files: two.mha, two.png",
        "spacing_row_mm must be a positive number, got -1",
        "spacing_col_mm 'abc' is not a number",
        "line 8: empty case id",
        "not listed in cases.csv, e.g. stray",
    ):
        assert words in message, words
    assert len(info.value.problems) == 7


def test_missing_columns_and_files(tmp_path: Path) -> None:
    with pytest.raises(TruthSetError, match="cases.csv is missing"):
        TruthSet.load(tmp_path)
    (tmp_path / "cases.csv").write_text("case,site\n")
    with pytest.raises(TruthSetError, match="lacks column.*spacing_row_mm, spacing_col_mm"):
        TruthSet.load(tmp_path)


def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    write_label_map(tmp_path / "labels" / "x.png", _label(1))
    (tmp_path / "cases.csv").write_bytes(
        b"\xef\xbb\xbfcase,site,spacing_row_mm,spacing_col_mm\r\nx,s,0.1,0.1"
    )
    assert [c.case for c in TruthSet.load(tmp_path).cases] == ["x"]


def test_one_cases_csv_reader_for_every_kind_of_truth_set(tmp_path: Path) -> None:
    """`read_cases_csv` is the reader of TruthSet.load, classification truth and the
    platform's loader: names and values stripped, line numbers kept, an overlong row marked,
    a missing required column refused with the columns it needs."""
    from evaluator.scorers.classification import check_classification_truth

    (tmp_path / "cases.csv").write_bytes(
        b"\xef\xbb\xbf case , site ,class\r\n a ,s1, head \r\nb,s2,femur,extra\r\nc,s3\r\n"
    )
    rows = read_cases_csv(tmp_path, required=("case", "site", "class"))
    assert [(r.number, r.values, r.overlong) for r in rows] == [
        (2, {"case": "a", "site": "s1", "class": "head"}, False),
        (3, {"case": "b", "site": "s2", "class": "femur"}, True),
        (4, {"case": "c", "site": "s3", "class": ""}, False),
    ]
    with pytest.raises(TruthSetError) as info:
        check_classification_truth(tmp_path, ["head", "femur"])
    assert info.value.problems == [
        "cases.csv line 3 (case b): more values than columns",
        "cases.csv line 4 (case c): class '' is not one of ['head', 'femur']",
    ]
    with pytest.raises(TruthSetError, match="lacks column.*spacing_row_mm.*required: case,site"):
        read_cases_csv(tmp_path)  # the segmentation columns by default
    with pytest.raises(TruthSetError, match="cases.csv is missing"):
        read_cases_csv(tmp_path / "nowhere", required=("case",))
