"""Submission validation: every problem of a messy submission is reported at once, per case."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from evaluator.geometry.ellipse import Ellipse, rasterize_ellipse
from evaluator.io.hc18_csv import read_ellipse_csv
from evaluator.io.masks import write_label_map
from evaluator.truth import TruthSet, write_truth_set
from evaluator.validation import (
    PredictionError,
    Problem,
    ValidationReport,
    discover_predictions,
    load_prediction,
    validate_predictions,
)

SHAPE = (20, 30)


def _mask(seed: int, values=(0, 1)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array(values, dtype=np.uint8), size=SHAPE)


@pytest.fixture
def binary_truth(tmp_path: Path) -> TruthSet:
    cases = [
        (f"c{i}", "siteA" if i % 2 else "siteB", (0.2, 0.2), _mask(i), {}) for i in range(1, 10)
    ]
    return write_truth_set(tmp_path / "truth", cases)


@pytest.fixture
def multi_truth(tmp_path: Path) -> TruthSet:
    cases = [(f"m{i}", "s", (1.0, 1.0), _mask(i, (0, 1, 2)), {}) for i in range(1, 4)]
    return write_truth_set(tmp_path / "mtruth", cases, label_suffix=".mha")


def _by_case(report: ValidationReport) -> dict[str | None, set[str]]:
    found: dict[str | None, set[str]] = {}
    for p in report.problems:
        found.setdefault(p.case, set()).add(p.code)
    return found


def test_clean_submission_is_ok(tmp_path: Path, binary_truth: TruthSet) -> None:
    sub = tmp_path / "sub"
    for i, case in enumerate(binary_truth.cases, start=1):
        write_label_map(sub / "deep" / "er" / f"{case.case}.png", _mask(i) * 255)
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    assert report.ok, report.format_text()
    assert report.problems == []
    assert list(report.files) == [c.case for c in binary_truth.cases]
    pred = load_prediction(report.files["c1"], binary_truth.by_case()["c1"], (0, 1), True)
    assert pred.dtype == np.uint8 and np.array_equal(pred, _mask(1))


def test_many_problems_are_all_reported_with_their_case(
    tmp_path: Path, binary_truth: TruthSet
) -> None:
    sub = tmp_path / "sub"
    write_label_map(sub / "c1.png", _mask(1) * 255)  # fine, {0, 255}
    write_label_map(sub / "nested" / "c2.nii.gz", _mask(2))  # fine, {0, 1}
    # c3: missing
    write_label_map(sub / "zz_unknown.png", _mask(3))  # extra
    write_label_map(sub / "a" / "c4.png", _mask(4))  # duplicate in two folders/formats
    write_label_map(sub / "b" / "c4.nii.gz", _mask(4))
    write_label_map(sub / "c5.png", _mask(5).T.copy())  # wrong shape (transposed)
    bad = _mask(6)
    bad[0, 0] = 3
    write_label_map(sub / "c6.png", bad)  # wrong values {0, 1, 3}
    Image.fromarray(np.stack([_mask(7) * 255] * 3, -1), mode="RGB").save(sub / "c7.png")
    (sub / "c8.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # unreadable
    (sub / "c9.jpg").write_bytes(b"\xff\xd8\xff")  # right case, unsupported format
    (sub / "__MACOSX").mkdir()
    (sub / "__MACOSX" / "._c1.png").write_bytes(b"junk")
    (sub / ".DS_Store").write_bytes(b"junk")
    (sub / "README.txt").write_text("our method")

    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)

    assert not report.ok
    codes = _by_case(report)
    assert codes["c3"] == {"missing_case"}
    assert codes["zz_unknown"] == {"extra_file"}
    assert codes["c4"] == {"duplicate_case"}
    assert codes["c5"] == {"wrong_shape"}
    assert codes["c6"] == {"wrong_values"}
    assert codes["c7"] == {"rgb"}
    assert codes["c8"] == {"unreadable"}
    assert codes["c9"] == {"unsupported_format"}
    assert codes[None] == {"ignored_file"}  # the README only; macOS litter is silent
    assert "c1" not in codes and "c2" not in codes
    assert set(report.files) == {"c1", "c2"}

    messages = {p.case: p.message for p in report.problems}
    assert "a/c4.png" in messages["c4"] and "b/c4.nii.gz" in messages["c4"]
    assert "30x20" in messages["c5"] and "20x30" in messages["c5"] and "swapped" in messages["c5"]
    assert "{0, 1, 3}" in messages["c6"]
    assert "RGB image where a label map is expected" in messages["c7"]
    assert str(tmp_path) not in report.format_text()

    as_dict = report.to_dict()
    assert as_dict["ok"] is False and as_dict["n_errors"] == 8 and as_dict["n_warnings"] == 1
    assert as_dict["files"] == {"c1": "c1.png", "c2": "nested/c2.nii.gz"}
    # Problems are ordered: submission-wide first, then in truth-set order.
    assert [p.case for p in report.problems][0] is None


def test_warnings_alone_keep_a_submission_ok(tmp_path: Path, binary_truth: TruthSet) -> None:
    sub = tmp_path / "sub"
    for i, case in enumerate(binary_truth.cases, start=1):
        write_label_map(sub / f"{case.case}.png", _mask(i))
    (sub / "notes.md").write_text("hello")
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    assert report.ok
    assert [p.code for p in report.problems] == ["ignored_file"]


def test_empty_submission(tmp_path: Path, binary_truth: TruthSet) -> None:
    (tmp_path / "empty").mkdir()
    report = validate_predictions(tmp_path / "empty", binary_truth, (0, 1), binary=True)
    assert report.problems[0].code == "empty_submission"
    assert sum(p.code == "missing_case" for p in report.problems) == len(binary_truth.cases)


def test_not_a_folder(tmp_path: Path, binary_truth: TruthSet) -> None:
    report = validate_predictions(tmp_path / "nope", binary_truth, (0, 1), binary=True)
    assert [p.code for p in report.problems] == ["not_a_folder"]


def test_mixed_binary_conventions_are_refused(tmp_path: Path, binary_truth: TruthSet) -> None:
    mixed = _mask(1)
    mixed[0, :3] = (0, 1, 255)
    write_label_map(tmp_path / "c1.png", mixed)
    with pytest.raises(PredictionError) as info:
        load_prediction(tmp_path / "c1.png", binary_truth.by_case()["c1"], (0, 1), True)
    assert info.value.problem == Problem(
        "c1",
        "wrong_values",
        "c1.png: values {0, 1, 255}; a binary mask must use {0, 1} or {0, 255}",
    )


def test_multiclass_values(tmp_path: Path, multi_truth: TruthSet) -> None:
    sub = tmp_path / "sub"
    write_label_map(sub / "m1.nii.gz", _mask(1, (0, 1, 2)))
    wrong = _mask(2, (0, 1, 2))
    wrong[3, 3] = 3
    write_label_map(sub / "m2.png", wrong)
    probs = np.full(SHAPE, 0.5, dtype=np.float32)
    sitk.WriteImage(sitk.GetImageFromArray(probs), str(sub / "m3.mha"))
    report = validate_predictions(sub, multi_truth, (0, 1, 2), binary=False)
    assert _by_case(report) == {"m2": {"wrong_values"}, "m3": {"not_integer"}}
    assert "unexpected value(s) {3}" in report.problems[0].message
    pred = load_prediction(report.files["m1"], multi_truth.by_case()["m1"], (0, 1, 2), False)
    assert np.array_equal(pred, _mask(1, (0, 1, 2)))


def test_values_are_checked_exactly_without_a_histogram_shortcut_error(
    tmp_path: Path, multi_truth: TruthSet, binary_truth: TruthSet
) -> None:
    """The min/max shortcut never accepts a value outside the classes: a gap in the class
    values (0, 1, 3) is checked value by value, and {0, 255} masks pixel by pixel."""
    case = multi_truth.by_case()["m1"]
    gap = _mask(4, (0, 3))
    write_label_map(tmp_path / "gap.png", gap)
    assert np.array_equal(load_prediction(tmp_path / "gap.png", case, (0, 1, 3), False), gap)
    inside_gap = _mask(5, (0, 1, 3))
    inside_gap[2, 2] = 2
    write_label_map(tmp_path / "inside.png", inside_gap)
    with pytest.raises(PredictionError, match=r"unexpected value\(s\) \{2\}"):
        load_prediction(tmp_path / "inside.png", case, (0, 1, 3), False)
    full = np.full(SHAPE, 255, np.uint8)
    write_label_map(tmp_path / "full.png", full)
    binary = binary_truth.by_case()["c1"]
    pred = load_prediction(tmp_path / "full.png", binary, (0, 1), True)
    assert pred.dtype == np.uint8 and (pred == 1).all()
    almost = full.copy()
    almost[0, 0] = 254
    write_label_map(tmp_path / "almost.png", almost)
    with pytest.raises(PredictionError, match=r"values \{254, 255\}"):
        load_prediction(tmp_path / "almost.png", binary, (0, 1), True)


def test_a_known_truth_shape_is_used_instead_of_the_header(
    tmp_path: Path, binary_truth: TruthSet
) -> None:
    """Scoring passes the decoded label's shape; the check is the same as from the header."""
    write_label_map(tmp_path / "c1.png", _mask(1))
    case = binary_truth.by_case()["c1"]
    assert load_prediction(tmp_path / "c1.png", case, (0, 1), True, SHAPE).shape == SHAPE
    with pytest.raises(PredictionError, match="rows and columns swapped"):
        load_prediction(tmp_path / "c1.png", case, (0, 1), True, SHAPE[::-1])


def test_decorated_names_get_a_hint(tmp_path: Path, binary_truth: TruthSet) -> None:
    write_label_map(tmp_path / "sub" / "c1_Annotation.png", _mask(1))
    _, problems = discover_predictions(tmp_path / "sub", binary_truth)
    extra = [p for p in problems if p.code == "extra_file"]
    assert extra[0].case == "c1_Annotation"
    assert "did you mean c1?" in extra[0].message


def test_case_insensitive_names_match(tmp_path: Path, binary_truth: TruthSet) -> None:
    write_label_map(tmp_path / "sub" / "C1.PNG", _mask(1))
    files, problems = discover_predictions(tmp_path / "sub", binary_truth)
    assert list(files) == ["c1"]
    assert {p.code for p in problems} == {"missing_case"}


# --------------------------------------------------------------------------- HC18 ellipse CSV

CSV_HEADER = "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"


def test_ellipse_csv_is_rasterised_on_the_truth_grid(
    tmp_path: Path, binary_truth: TruthSet
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    rows = [CSV_HEADER]
    for case in binary_truth.cases:
        rows.append(f"{case.case}.png,3.0,2.0,2.5,1.2,0.3")
    (sub / "results.csv").write_text("\r\n".join(rows))  # CRLF, no final newline
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    assert report.ok, report.format_text()
    assert set(report.files) == {c.case for c in binary_truth.cases}
    case = binary_truth.by_case()["c1"]
    pred = load_prediction(report.files["c1"], case, (0, 1), True)
    expected = rasterize_ellipse(Ellipse(3.0, 2.0, 2.5, 1.2, 0.3), SHAPE, (0.2, 0.2))
    assert pred.dtype == np.uint8 and np.array_equal(pred, expected.astype(np.uint8))
    assert 0 < pred.sum() < pred.size


def test_ellipse_csv_problems_are_reported(tmp_path: Path, binary_truth: TruthSet) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "results.csv").write_text(
        "\n".join(
            [
                CSV_HEADER,
                "c1.png,3,2,2.5,1.2,0.3",
                "c2.png,3,2,abc,1.2,0.3",
                "c3.png,3,2,-1,1.2,0.3",
                "c4.png,3,2,2.5,1.2,0.3",
                "c4.png,3,2,2.5,1.2,0.3",
                "c99.png,3,2,2.5,1.2,0.3",
                "c5.png,3,2",
            ]
        )
    )
    write_label_map(sub / "c1.png", _mask(1))  # also in the CSV: duplicate
    for i in (6, 7, 8, 9):
        write_label_map(sub / f"c{i}.png", _mask(i))
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    codes = _by_case(report)
    assert codes["c1"] == {"duplicate_case"}
    assert codes["c2"] == {"bad_csv_row"}
    assert codes["c3"] == {"bad_csv_row"}
    assert codes["c4"] == {"duplicate_case"}
    assert codes["c99"] == {"extra_file"}
    assert codes[None] == {"bad_csv_row"}  # the short row names no usable case
    assert "c5" in codes and codes["c5"] == {"missing_case"}
    messages = [p.message for p in report.problems]
    assert any("results.csv line 3: semi_axes_a_mm 'abc' is not a number" in m for m in messages)


def test_ellipse_csv_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("filename,center_x_mm\n000_HC.png,1\n")
    ellipses, problems = read_ellipse_csv(path)
    assert ellipses == {}
    assert [p.code for p in problems] == ["bad_csv"]
    assert "semi_axes_a_mm" in problems[0].message


def test_ellipse_csv_normalises_axis_order(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(f"{CSV_HEADER}\n000_HC.png,10,20,3,5,0\n")
    ellipses, problems = read_ellipse_csv(path)
    assert problems == []
    e = ellipses["000_HC"]
    assert (e.semi_axis_a, e.semi_axis_b) == (5, 3) and math.isclose(e.angle_rad, math.pi / 2)


def test_ellipse_csv_only_for_binary_tasks(tmp_path: Path, multi_truth: TruthSet) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "e.csv").write_text(f"{CSV_HEADER}\nm1.png,3,2,2.5,1.2,0.3\n")
    report = validate_predictions(sub, multi_truth, (0, 1, 2), binary=False)
    assert _by_case(report)["m1"] == {"unsupported_format"}


def test_real_hc18_ellipses_reproduce_the_imported_masks(
    tmp_path: Path, shared_data: Path, hc18_truth: TruthSet
) -> None:
    """A CSV of the ellipses fitted to the release outlines rasterises to the truth masks."""
    from evaluator.importers.hc18 import outline_ellipse
    from evaluator.io.masks import read_label_map

    cases = [c for c in hc18_truth.cases if c.case in ("000_HC", "186_HC", "346_HC")]
    release = shared_data / "hc18" / "training_set"
    rows = [CSV_HEADER]
    for c in cases:
        outline = read_label_map(release / f"{c.case}_Annotation.png")
        e = outline_ellipse(outline, c.spacing[0])
        rows.append(
            f"{c.case}.png,{e.center_x!r},{e.center_y!r},{e.semi_axis_a!r},"
            f"{e.semi_axis_b!r},{e.angle_rad!r}"
        )
    (tmp_path / "results.csv").write_text("\n".join(rows))
    for c in cases:
        pred = load_prediction(tmp_path / "results.csv", c, (0, 1), True)
        assert np.array_equal(pred, read_label_map(c.label_path)), c.case


# --------------------------------------------------------------------------- saying what happened


def _zip_of(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_an_archive_inside_the_archive_is_named(tmp_path: Path, binary_truth: TruthSet) -> None:
    from evaluator.scoring import validate_submission

    inner = _zip_of(tmp_path / "inner.zip", {"c1.png": b"x"}).read_bytes()
    outer = _zip_of(tmp_path / "upload.zip", {"preds/inner.zip": inner, "preds/notes.txt": b"hi"})
    report = validate_submission("hc18", binary_truth.root, outer)
    first = report.problems[0]
    assert first.code == "nested_archive"
    assert first.message == (
        "upload.zip contains another archive (preds/inner.zip); upload one archive with the "
        "masks at its top level or in one folder"
    )
    assert "empty_submission" not in {p.code for p in report.problems}
    # content decides, not the name: a tar renamed .bin is an archive too
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "preds.bin").write_bytes(b"PK\x05\x06" + bytes(18))
    _, problems = discover_predictions(tmp_path / "sub", binary_truth)
    assert [p.code for p in problems if p.case is None] == ["nested_archive"]


def test_an_archive_beside_a_complete_submission_is_only_a_warning(
    tmp_path: Path, binary_truth: TruthSet
) -> None:
    sub = tmp_path / "sub"
    for i, case in enumerate(binary_truth.cases, start=1):
        write_label_map(sub / f"{case.case}.png", _mask(i))
    _zip_of(sub / "backup.zip", {"x": b"x"})
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    assert report.ok and [p.code for p in report.problems] == ["ignored_file"]


def test_junk_only_archive_lists_what_it_found(tmp_path: Path, binary_truth: TruthSet) -> None:
    from evaluator.scoring import validate_submission

    upload = _zip_of(
        tmp_path / "upload.zip",
        {"README.txt": b"our method", "data/random.bin": bytes(range(256)), ".DS_Store": b"x"},
    )
    report = validate_submission("hc18", binary_truth.root, upload)
    first = report.problems[0]
    assert first.code == "empty_submission"
    assert first.message.startswith(
        "upload.zip holds no mask files (found: README.txt, data/random.bin); "
        "expected files like c1.png"
    )
    hidden = _zip_of(tmp_path / "hidden.zip", {".DS_Store": b"x", "__MACOSX/._c1.png": b"x"})
    message = validate_submission("hc18", binary_truth.root, hidden).problems[0].message
    assert message.startswith("hidden.zip holds only hidden or system files (.DS_Store, __MACOSX)")
    empty = _zip_of(tmp_path / "empty.zip", {})
    problems = validate_submission("hc18", binary_truth.root, empty).problems
    assert [(p.code, p.message) for p in problems] == [
        ("bad_archive", "empty.zip: the archive is empty (no files)")
    ]


@pytest.mark.parametrize("where", ["row", "header"])
def test_non_utf8_ellipse_csv_names_the_byte(
    tmp_path: Path, binary_truth: TruthSet, where: str
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    header = CSV_HEADER + (",remarque é" if where == "header" else "")
    rows = [header, "c1.png,3,2,2.5,1.2,0.3", "c2.png,3,2,2.5,1.2,0.3" + (",café" * 2)]
    data = "\r\n".join(rows).encode("latin-1")
    (sub / "preds").mkdir()
    (sub / "preds" / "ellipses.csv").write_bytes(data)
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    offset = data.index(b"\xe9")
    assert report.problems[0] == Problem(
        None,
        "not_utf8",
        f"preds/ellipses.csv: ellipse CSV is not UTF-8 text (byte 0xe9 at offset {offset}); "
        "save it as UTF-8",
    )
    assert "empty_submission" not in {p.code for p in report.problems}
    utf16 = sub / "preds" / "ellipses.csv"
    utf16.write_bytes("\r\n".join(rows[:2]).encode("utf-16"))
    report = validate_predictions(sub, binary_truth, (0, 1), binary=True)
    assert report.problems[0].code == "not_utf8"
    assert "(byte 0xff at offset 0)" in report.problems[0].message


def test_non_utf8_file_names_are_reported_printably(tmp_path: Path, binary_truth: TruthSet) -> None:
    """Tar names that are not UTF-8 reach the report as lone surrogates: shown escaped, so the
    report can be printed and stored as JSON text (PostgreSQL refuses NUL and surrogates)."""
    import io
    import json
    import tarfile

    from evaluator.scoring import validate_submission

    upload = tmp_path / "upload.tar"
    with tarfile.open(upload, "w") as tf:
        for name in (b"preds/c\xe91.png", b"preds/\xff/c1.png", b"preds/notes\xfe.txt"):
            data = io.BytesIO()
            write_label_map(tmp_path / "m.png", _mask(1))
            data.write((tmp_path / "m.png").read_bytes())
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = data.tell()
            data.seek(0)
            tf.addfile(info, data)
    report = validate_submission("hc18", binary_truth.root, upload)
    text = json.dumps(report.to_dict(), ensure_ascii=False) + report.format_text()
    text.encode("utf-8")  # no UnicodeEncodeError
    assert "\x00" not in text
    codes = _by_case(report)
    assert codes["c\\xe91"] == {"extra_file"}
    assert report.to_dict()["files"]["c1"] == "preds/\\xff/c1.png"
    assert any("preds/notes\\xfe.txt" in p.message for p in report.problems)
    assert Problem("a\x00b", "x", "n\x00m").message == "n\\x00m"


def test_misnamed_real_hc18_files_are_not_an_empty_submission(
    tmp_path: Path, hc18_truth: TruthSet
) -> None:
    """Every file misnamed (0002_HC.png for case 002_HC): the report names each file and the
    case it was probably meant for, and does not claim the submission is empty."""
    cases = [c.case for c in hc18_truth.cases]
    sub = tmp_path / "sub"
    sub.mkdir()
    plain = [c for c in cases if re.fullmatch(r"\d{3}_HC", c)][:7]
    number = [str(int(c[:3])) for c in plain]
    variants = {
        plain[0]: f"0{plain[0]}.png",  # zero padding: 0002_HC
        plain[1]: f"{number[1]}_hc.png",  # zero padding and letter case: 3_hc
        plain[2]: f"{plain[2]}_pred.png",  # a tool's suffix
        plain[3]: f"{plain[3]}_Annotation.png",  # the HC18 release's outline name
        plain[4]: f"pred_{plain[4]}.png",  # a prefix
        plain[5]: plain[5].replace("_", "-") + ".png",  # another separator
        plain[6]: plain[6][:-1] + "X.png",  # a typo: 0NN_HX
    }
    names = {case: variants.get(case, f"0{case}.png") for case in cases}
    for name in names.values():
        (sub / name).write_bytes(b"")  # discovery looks at names only
    report = validate_predictions(sub, hc18_truth, (0, 1), binary=True)
    codes = {p.code for p in report.problems}
    assert "empty_submission" not in codes
    extra = {
        p.message.split(":", 1)[0]: p.message for p in report.problems if p.code == "extra_file"
    }
    assert len(extra) == len(cases)
    for case, name in names.items():
        assert f"(did you mean {case}? name files exactly <case>.<ext>)" in extra[name], name
    missing = {p.case: p.message for p in report.problems if p.code == "missing_case"}
    assert missing[plain[0]] == (
        f"no prediction for case {plain[0]} (0{plain[0]}.png looks meant for it)"
    )
    assert len(missing) == len(cases)
