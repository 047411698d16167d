"""Fixtures: small real truth sets imported from ../shared/data (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
HC18 = DATA / "hc18"
CSV_NAME = "training_set_pixel_size_and_HC.csv"


def _mini_hc18_release(dest: Path, n_images: int) -> Path:
    """An HC18 release folder holding the first `n_images` rows, as symlinks to the data."""
    lines = (HC18 / CSV_NAME).read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1 : 1 + n_images]
    (dest / "training_set").mkdir(parents=True)
    for row in rows:
        stem = row.split(",")[0][: -len(".png")]
        for name in (f"{stem}.png", f"{stem}_Annotation.png"):
            (dest / "training_set" / name).symlink_to(HC18 / "training_set" / name)
    (dest / CSV_NAME).write_text("\r\n".join([header, *rows]), encoding="utf-8")
    return dest


@pytest.fixture(scope="session")
def hc18_truth_40(tmp_path_factory) -> Path:
    """A truth set of 40 real HC18 images (about 32 exams) made by the evaluator's importer."""
    if not (HC18 / CSV_NAME).is_file():
        pytest.skip(f"real HC18 data not found at {HC18} (see ../shared/data/README.md)")
    from evaluator.importers.hc18 import import_hc18

    base = tmp_path_factory.mktemp("hc18")
    release = _mini_hc18_release(base / "release", 40)
    import_hc18(release, base / "truth", progress=False)
    return base / "truth"
