"""Issue 10 item 3 (evaluator side): the truth version covers the whole set, and the HC18 and
PSFHS importers take per-case sites; item 12: a classification truth set needs no labels.

On real data from ../shared/data (a few HC18 and PSFHS cases copied into release layouts).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from evaluator.cli import main as cli_main
from evaluator.importers.common import ImporterError
from evaluator.importers.hc18 import CSV_NAME, import_hc18, read_release_csv
from evaluator.importers.psfhs import import_psfhs
from evaluator.importers.sites import read_site_map
from evaluator.io.masks import read_label_map, write_label_map
from evaluator.results import sha256_file
from evaluator.truth import TruthSet, truth_version

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
N = 6


def _need_data() -> None:
    if not (DATA / "hc18" / "training_set").is_dir() or not (DATA / "psfhs").is_dir():
        pytest.skip(f"real data not found at {DATA}")


@pytest.fixture(scope="module")
def hc18_release(tmp_path_factory) -> Path:
    """The first N HC18 cases in the release's own layout (CSV with CRLF, PNGs)."""
    _need_data()
    out = tmp_path_factory.mktemp("hc18-release")
    rows = read_release_csv(DATA / "hc18" / CSV_NAME)[:N]
    (out / "training_set").mkdir()
    lines = ["filename,pixel size(mm),head circumference (mm),hospital"]
    for i, row in enumerate(rows):
        stem = Path(row.filename).stem
        for name in (row.filename, f"{stem}_Annotation.png"):
            shutil.copy(DATA / "hc18" / "training_set" / name, out / "training_set" / name)
        lines.append(f"{row.filename},{row.pixel_size_mm!r},{row.hc_mm},{'AB'[i % 2]}")
    (out / CSV_NAME).write_text("\r\n".join(lines))
    return out


@pytest.fixture(scope="module")
def psfhs_release(tmp_path_factory) -> Path:
    _need_data()
    out = tmp_path_factory.mktemp("psfhs-release")
    for folder in ("image_mha", "label_mha"):
        (out / folder).mkdir()
        for path in sorted((DATA / "psfhs" / folder).glob("*.mha"))[:N]:
            shutil.copy(path, out / folder / path.name)
    return out


def test_truth_version_covers_labels_and_images_and_nothing_else(
    hc18_release: Path, tmp_path: Path
) -> None:
    truth = import_hc18(hc18_release, tmp_path / "a", progress=False)
    version = truth_version(truth.root)
    assert len(version) == 64
    # Content-based: a copy elsewhere (other path, other timestamps) has the same version.
    copy = tmp_path / "b"
    shutil.copytree(truth.root, copy)
    (copy / ".DS_Store").write_bytes(b"junk")  # hidden and unrelated files do not count
    (copy / "labels" / ".hidden").write_bytes(b"junk")
    assert truth_version(copy) == version
    # Correcting one label changes it, although cases.csv (the old version) is unchanged.
    csv_before = sha256_file(copy / "cases.csv")
    case = truth.cases[2]
    label = read_label_map(case.label_path).copy()
    label[:10, :10] = 1 - label[:10, :10]
    write_label_map(copy / "labels" / case.label_path.name, label)
    assert sha256_file(copy / "cases.csv") == csv_before
    corrected = truth_version(copy)
    assert corrected != version
    # So does an image.
    image = copy / "images" / f"{case.case}.png"
    image.write_bytes(image.read_bytes() + b"\0")
    assert truth_version(copy) not in (version, corrected)


def test_scoring_records_the_truth_version(hc18_release: Path, tmp_path: Path) -> None:
    import zipfile

    import cv2

    from evaluator.scoring import score_submission

    truth = import_hc18(hc18_release, tmp_path / "truth", progress=False)
    preds = tmp_path / "preds.zip"
    with zipfile.ZipFile(preds, "w") as archive:
        for case in truth.cases:
            mask = np.roll(read_label_map(case.label_path), 2, axis=1)
            archive.writestr(f"{case.case}.png", cv2.imencode(".png", mask)[1].tobytes())
    results = score_submission("hc18", truth.root, preds, workers=1, n_bootstrap=10)
    assert results["inputs"]["truth_version"] == truth_version(truth.root)


def test_hc18_import_takes_sites_from_a_mapping_or_a_column(
    hc18_release: Path, tmp_path: Path, capsys
) -> None:
    stems = [Path(r.filename).stem for r in read_release_csv(hc18_release / CSV_NAME)]
    mapping_csv = tmp_path / "sites.csv"
    # File names or case ids, either way.
    mapping_csv.write_text(
        "filename,site\n"
        + "".join(f"{s}.png,{'left' if i < 2 else 'right'}\n" for i, s in enumerate(stems))
    )
    truth = import_hc18(
        hc18_release, tmp_path / "mapped", progress=False, sites=read_site_map(mapping_csv)
    )
    assert truth.sites() == ["left", "right"]
    assert [c.site for c in truth.cases] == ["left", "left"] + ["right"] * (N - 2)

    # The CLI: --sites FILE, or --site-column of the release's own CSV.
    out = tmp_path / "by-column"
    assert cli_main(["import-hc18", str(hc18_release), str(out), "--site-column", "hospital"]) == 0
    assert TruthSet.load(out).sites() == ["A", "B"]
    assert "A 3, B 3" in capsys.readouterr().err

    # A mapping that leaves cases out is refused, naming them.
    partial = tmp_path / "partial.csv"
    partial.write_text("case,site\n" + f"{stems[0]},left\n")
    with pytest.raises(ImporterError, match=f"no site for {N - 1} case"):
        import_hc18(hc18_release, tmp_path / "x", progress=False, sites=read_site_map(partial))
    bad = tmp_path / "bad.csv"
    bad.write_text("case,hospital\nx,1\n")
    with pytest.raises(ImporterError, match="needs a case column"):
        read_site_map(bad)


def test_psfhs_import_takes_sites(psfhs_release: Path, tmp_path: Path) -> None:
    stems = sorted(p.stem for p in (psfhs_release / "label_mha").glob("*.mha"))
    mapping_csv = tmp_path / "sites.csv"
    mapping_csv.write_text(
        "case,device\n" + "".join(f"{s},dev-{i % 3}\n" for i, s in enumerate(stems))
    )
    out = tmp_path / "psfhs"
    code = cli_main(
        ["import-psfhs", str(psfhs_release), str(out), "--sites", str(mapping_csv)]
        + ["--site-column", "device"]
    )
    assert code == 0
    truth = TruthSet.load(out)
    assert truth.sites() == ["dev-0", "dev-1", "dev-2"]
    assert truth.by_case()[stems[4]].site == "dev-1"
    single = import_psfhs(psfhs_release, tmp_path / "one", progress=False)
    assert single.sites() == ["psfhs"]


def test_classification_truth_set_needs_no_label_images(tmp_path: Path) -> None:
    from evaluator.scorers.classification import check_classification_truth
    from evaluator.truth import TruthSetError

    root = tmp_path / "planes"
    root.mkdir()
    (root / "cases.csv").write_text("case,site,class\na,s1,head\nb,s2,femur\n")
    assert check_classification_truth(root, ["head", "abdomen", "femur"]) == [
        ("a", "s1", "head"),
        ("b", "s2", "femur"),
    ]
    (root / "cases.csv").write_text("case,site,class\na,s1,head\na,,knee\n")
    with pytest.raises(TruthSetError) as info:
        check_classification_truth(root, ["head", "abdomen", "femur"])
    assert len(info.value.problems) == 3  # duplicate, empty site, unknown class
    assert len(truth_version(root)) == 64  # cases.csv alone is a versioned set too
