"""A bare HC18 ellipse CSV (not inside a zip) is a whole submission (issue 10, item 12): the
evaluator scores it as it would the same file zipped, on real HC18 cases."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from evaluator.io.archives import ArchiveError, unpacked
from evaluator.io.masks import read_label_map
from evaluator.scoring import score_submission
from tests.evaluator.hc18_submissions import DATA as DATA_ROOT
from tests.evaluator.hc18_submissions import make_hc18_release

HEADER = "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evaluator.importers.hc18 import import_hc18

    base = tmp_path_factory.mktemp("hc18_csv")
    import_hc18(make_hc18_release(base / "release", 6), base / "truth", progress=False)
    return base / "truth"


def _ellipse_csv(truth: Path, out: Path) -> Path:
    """The annotated ellipse of every case, one row each, as an HC18 result file."""
    from evaluator.importers.hc18 import outline_ellipse
    from evaluator.truth import TruthSet

    rows = [HEADER]
    for case in TruthSet.load(truth).cases:
        outline = read_label_map(DATA_ROOT / "hc18" / "training_set" / f"{case.case}_Annotation.png")
        e = outline_ellipse(outline, case.spacing[0])
        rows.append(f"{case.case}.png,{e.center_x!r},{e.center_y!r},{e.semi_axis_a!r},"
                    f"{e.semi_axis_b!r},{e.angle_rad!r}")  # fmt: skip
    out.write_text("\n".join(rows) + "\n")
    return out


def test_a_bare_ellipse_csv_scores_like_the_same_csv_zipped(truth: Path, tmp_path: Path) -> None:
    bare = _ellipse_csv(truth, tmp_path / "results.csv")
    zipped = tmp_path / "results.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(bare, "results.csv")
    alone = score_submission("hc18", truth, bare, workers=1, n_bootstrap=20)
    inside = score_submission("hc18", truth, zipped, workers=1, n_bootstrap=20)
    assert alone["cases"] == inside["cases"] and alone["n_cases"] == 6
    assert alone["aggregates"]["all"]["head"]["dice"]["mean"] > 0.95
    assert alone["aggregates"]["all"]["head"]["hc_abs_diff_mm"]["mean"] < 0.1


def test_only_csv_files_are_taken_bare(tmp_path: Path) -> None:
    """Any other lone file is still refused as not an archive, and the copy is removed."""
    png = tmp_path / "000_HC.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ArchiveError, match="not a supported archive"), unpacked(png):
        pass
    csv = tmp_path / "r.CSV"
    csv.write_text(HEADER + "\n")
    with unpacked(csv) as folder:
        assert [p.name for p in folder.iterdir()] == ["r.CSV"]
    assert not folder.exists()
