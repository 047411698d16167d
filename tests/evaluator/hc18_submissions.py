"""Small HC18 releases and perturbed prediction submissions, shared by the scoring and CLI
tests.

A module of its own (not imported from another test file) so that collection never depends on
which `test_scoring.py` pytest's import mode finds first; import it by its full name
(``tests.evaluator.hc18_submissions``).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.truth import TruthSet

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def make_hc18_release(dest: Path, n: int) -> Path:
    """A small HC18 release folder (first n annotated images + their CSV rows, CRLF)."""
    src = DATA / "hc18"
    if not (src / "training_set").is_dir():
        pytest.skip(f"HC18 data not found at {src}")
    lines = (src / "training_set_pixel_size_and_HC.csv").read_bytes().decode().split("\r\n")
    kept = [lines[0]]
    (dest / "training_set").mkdir(parents=True)
    for line in lines[1:]:
        name = line.split(",")[0]
        annotation = src / "training_set" / name.replace(".png", "_Annotation.png")
        if not annotation.exists():
            continue
        shutil.copy(src / "training_set" / name, dest / "training_set" / name)
        shutil.copy(annotation, dest / "training_set" / annotation.name)
        kept.append(line)
        if len(kept) > n:
            break
    (dest / "training_set_pixel_size_and_HC.csv").write_bytes("\r\n".join(kept).encode())
    return dest


def perturb(label: np.ndarray, i: int) -> np.ndarray:
    """Plausible imperfect predictions: dilated, eroded, shifted or exact."""
    kind = i % 4
    if kind == 0:
        return ndimage.binary_dilation(label > 0, iterations=3).astype(np.uint8)
    if kind == 1:
        return ndimage.binary_erosion(label > 0, iterations=2).astype(np.uint8)
    if kind == 2:
        return np.roll(label, 5, axis=1)
    return label.copy()


def write_submission(truth: TruthSet, folder: Path, values: int = 1) -> dict[str, np.ndarray]:
    """Predictions in nested folders, half PNG (0/255 for binary) and half .nii.gz."""
    arrays = {}
    for i, case in enumerate(truth.cases):
        pred = perturb(read_label_map(case.label_path), i)
        arrays[case.case] = pred
        sub = folder / "team" / ("png" if i % 2 else "nifti")
        if i % 2:
            write_label_map(sub / f"{case.case}.png", pred * (255 if values == 255 else 1))
        else:
            write_label_map(sub / f"{case.case}.nii.gz", pred, spacing=case.spacing)
    return arrays


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive
