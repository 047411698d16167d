"""Shared fixtures for evaluator tests on the real HC18 and PSFHS data in ../shared/data.

The data are never copied into the repository; tests that need them skip with a clear message
when the folder is absent (e.g. a fresh clone without the shared data beside it).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from evaluator.geometry.ellipse import fit_ellipse, rasterize_ellipse

ROOT = Path(__file__).resolve().parents[2]
DATA_ROOT = ROOT.parent / "shared" / "data"
HC18_DIR = DATA_ROOT / "hc18"
HC18_IMAGES = HC18_DIR / "training_set"
HC18_CSV = HC18_DIR / "training_set_pixel_size_and_HC.csv"
PSFHS_DIR = DATA_ROOT / "psfhs"


@dataclass(frozen=True)
class HC18Case:
    """One HC18 training image: its annotation outline file, pixel size and reference HC."""

    name: str
    annotation_path: Path
    pixel_mm: float
    hc_mm: float


def read_hc18_cases() -> list[HC18Case]:
    """Every CSV row whose annotation PNG is present, in CSV order (CRLF, no final newline)."""
    with HC18_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    cases = []
    for row in rows:
        name = row["filename"]
        annotation = HC18_IMAGES / name.replace(".png", "_Annotation.png")
        if annotation.exists():
            cases.append(
                HC18Case(
                    name,
                    annotation,
                    float(row["pixel size(mm)"]),
                    float(row["head circumference (mm)"]),
                )
            )
    return cases


def hc18_head_mask(case: HC18Case) -> np.ndarray:
    """Filled head mask: the ellipse fitted to the annotation outline, rasterised in pixels."""
    outline = np.asarray(Image.open(case.annotation_path))
    ys, xs = np.nonzero(outline)
    ellipse = fit_ellipse(np.column_stack((xs, ys)))
    assert ellipse is not None, f"{case.name}: no ellipse fits the annotation"
    return rasterize_ellipse(ellipse, outline.shape)


def psfhs_label_paths() -> list[Path]:
    """PSFHS label files (256x256, 0 background, 1 pubic symphysis, 2 fetal head), sorted."""
    return sorted((PSFHS_DIR / "label_mha").glob("*.mha"))


def read_psfhs_label(path: Path) -> np.ndarray:
    """A PSFHS label map as a 2-D uint8 array."""
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture(scope="session")
def hc18_cases() -> list[HC18Case]:
    """All HC18 cases with an annotation on disk; skips when the shared data are absent."""
    if not HC18_CSV.exists():
        pytest.skip(f"HC18 data not found at {HC18_DIR} (shared data folder absent)")
    cases = read_hc18_cases()
    if not cases:
        pytest.skip(f"no HC18 annotations found in {HC18_IMAGES}")
    return cases


@pytest.fixture(scope="session")
def psfhs_labels() -> list[Path]:
    """All PSFHS label paths; skips when the shared data are absent."""
    paths = psfhs_label_paths() if PSFHS_DIR.exists() else []
    if not paths:
        pytest.skip(f"PSFHS labels not found in {PSFHS_DIR / 'label_mha'} (shared data absent)")
    return paths


# --- Imported truth sets (evaluator input side: importers, validation) --------------------


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real HC18/PSFHS data next to the repository; skips when it is absent."""
    if not HC18_IMAGES.is_dir() or not (PSFHS_DIR / "label_mha").is_dir():
        pytest.skip(f"real data not found at {DATA_ROOT} (see ../shared/data/README.md)")
    return DATA_ROOT


@pytest.fixture(scope="session")
def hc18_truth(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """All 402 real HC18 cases imported once per session (a few seconds)."""
    from evaluator.importers.hc18 import import_hc18

    return import_hc18(shared_data / "hc18", tmp_path_factory.mktemp("hc18"), progress=False)


@pytest.fixture(scope="session")
def psfhs_truth(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """All 300 real PSFHS cases imported once per session."""
    from evaluator.importers.psfhs import import_psfhs

    return import_psfhs(shared_data / "psfhs", tmp_path_factory.mktemp("psfhs"), progress=False)
