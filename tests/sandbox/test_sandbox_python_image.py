"""The example Python model container, built offline (debootstrap base, cached), runs on
real HC18 and PSFHS images and writes one mask per case of the right size."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sandbox.containers.backend import run_submission
from sandbox.inputs import Case, prepare_input
from sandbox.outcome import Status

from evaluator.io.archives import GiB
from tests.docker_fixtures import build_offline_image, python_container_limits

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
BUILD = ROOT / "examples" / "model-container" / "build.sh"


@pytest.fixture(scope="session")
def example_archive(tmp_path_factory, docker_client) -> Path:
    out = tmp_path_factory.mktemp("example") / "model.tar"
    build_offline_image(BUILD, out, what="the example model container", timeout=1500)
    return out


def _real_cases() -> list[Case]:
    hc18 = DATA / "hc18" / "training_set"
    psfhs = DATA / "psfhs" / "image_mha"
    if not hc18.is_dir() or not psfhs.is_dir():
        pytest.skip(f"real data not found under {DATA}")
    spacing = {}
    with (DATA / "hc18" / "training_set_pixel_size_and_HC.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            spacing[row["filename"]] = float(row["pixel size(mm)"])
    cases = [
        Case(p.stem, p, (spacing[p.name], spacing[p.name]))
        for p in sorted(hc18.glob("*_HC.png"))[:2]
    ]
    cases += [Case(p.name[:-4], p, (1.0, 1.0)) for p in sorted(psfhs.glob("*.mha"))[:2]]
    return cases


@pytest.mark.slow
def test_example_python_container_segments_real_images(
    example_archive: Path, docker_client, tmp_path: Path
) -> None:
    cases = _real_cases()
    input_dir = prepare_input(cases, tmp_path / "input")
    limits = python_container_limits(wall_seconds=120, memory_bytes=1 * GiB, cpus=1)
    outcome = run_submission(
        example_archive, input_dir, tmp_path / "out", limits=limits, client=docker_client
    )
    assert outcome.status is Status.OK, (outcome.message, outcome.log_tail)
    for case in cases:
        mask = np.asarray(Image.open(tmp_path / "out" / f"{case.case_id}.png"))
        expected = (256, 256) if case.image.suffix == ".mha" else Image.open(case.image).size[::-1]
        assert mask.shape == expected
        assert set(np.unique(mask)) <= {0, 1} and mask.any()
    assert len(outcome.log_tail) == len(cases)
