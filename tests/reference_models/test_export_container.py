"""`export --container`: a trained reference model becomes a model container, built offline with
real Docker, run through the platform's sandbox on real HC18 PNG and PSFHS MHA images, and its
masks equal those the platform's ONNX model-file runner makes from the same export."""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image
from sandbox.containers.backend import run_submission
from sandbox.inputs import Case, prepare_input
from sandbox.model_files import pixels
from sandbox.model_files.process import run_model_file
from sandbox.model_files.spec import ModelSpec
from sandbox.model_files.worker import to_labels as platform_to_labels
from sandbox.outcome import Status

from evaluator.io.archives import GiB
from reference_models.cli import main
from reference_models.export.platform_spec import CONTAINER_MODULES
from reference_models.export.wheels import CONTAINER_PACKAGES
from tests.docker_fixtures import (
    build_offline_image,
    docker_client_or_skip,
    python_container_limits,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
RUNNER = ROOT / "reference_models" / "export" / "container_context" / "run_model.py"
BASE_SCRIPT = ROOT / "scripts" / "debian-python-base.sh"


def _runner(tmp_path: Path) -> ModuleType:
    """The container's run_model.py as a module (it is a script, not part of a package), next
    to the copies of the platform's spec.py and pixels.py that a build context gets."""
    for source in (RUNNER, *CONTAINER_MODULES):
        shutil.copy2(source, tmp_path / source.name)
    sys.path.insert(0, str(tmp_path))
    try:
        spec = importlib.util.spec_from_file_location(
            "fetalbench_run_model", tmp_path / RUNNER.name
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("spec", "pixels"):  # the copies' flat names, as in the container
            sys.modules.pop(name, None)
    return module


def _real_cases(n_hc18: int, n_psfhs: int) -> list[Case]:
    hc18, psfhs = DATA / "hc18" / "training_set", DATA / "psfhs" / "image_mha"
    if not hc18.is_dir() or not psfhs.is_dir():
        pytest.skip(f"real data not found under {DATA} (see ../shared/data/README.md)")
    spacing = {}
    with (DATA / "hc18" / "training_set_pixel_size_and_HC.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            spacing[row["filename"]] = float(row["pixel size(mm)"])
    # The last HC18 images: the model trains on the first 40.
    pngs = sorted(hc18.glob("*HC.png"))[-n_hc18:]
    cases = [Case(p.stem, p, (spacing[p.name], spacing[p.name])) for p in pngs]
    return cases + [Case(p.name[:-4], p, (1.0, 1.0)) for p in sorted(psfhs.glob("*.mha"))[:n_psfhs]]


def _mask(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize(
    "spec",
    [
        {  # what our export writes: 3 channels, ImageNet normalisation
            "input_size": [64, 96],
            "channels": 3,
            "normalisation": {
                "scale": 1 / 255,
                "mean": [0.485, 0.456, 0.406],
                "std": [0.229, 0.224, 0.225],
            },
            "output": "probabilities",
            "threshold": 0.5,
            "class_values": [0, 1],
        },
        {"input_size": [80, 72], "output": "logits", "class_values": [0, 1, 2]},  # defaults
    ],
)
def test_runner_pixels_equal_the_platform_model_file_runner(spec: dict, tmp_path: Path) -> None:
    """Reading, resizing, normalising, labelling and resizing back are the platform's, bit for
    bit, on a real HC18 PNG and a real PSFHS MetaImage (3 identical planes)."""
    runner = _runner(tmp_path)
    ours, theirs = runner.parse_spec(spec), ModelSpec.from_dict(spec)
    rng = np.random.default_rng(0)
    for case in _real_cases(1, 1):
        image = runner.read_image(case.image)
        np.testing.assert_array_equal(image, pixels.read_image(case.image))
        tensor = runner.to_model_input(image, ours)
        np.testing.assert_array_equal(tensor, pixels.to_model_input(image, theirs))
        channels = len(spec["class_values"]) if len(spec["class_values"]) > 2 else 1
        output = rng.normal(size=(1, channels, *spec["input_size"])).astype(np.float32)
        if spec["output"] == "probabilities":
            output = 1 / (1 + np.exp(-output))
        labels = runner.to_labels(output, ours)
        np.testing.assert_array_equal(labels, platform_to_labels(output, theirs))
        assert set(np.unique(labels)) == set(spec["class_values"])
        np.testing.assert_array_equal(
            runner.resize_back(labels, image.shape[:2]),
            pixels.resize_back(labels, image.shape[:2]),
        )


def test_container_needs_the_onnx_export(tmp_path: Path, capsys) -> None:
    argv = ["export", "--checkpoint", str(tmp_path / "model.pt"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--format", "torchscript", "--container"]) == 2
    err = capsys.readouterr().err
    assert "runs the ONNX file" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def exported(hc18_truth_40: Path, tmp_path_factory) -> dict[str, Path]:
    """A unet-tiny trained 30 steps on 40 real HC18 images (validation Dice about 0.75, so its
    masks are neither empty nor full), exported with --container."""
    base = tmp_path_factory.mktemp("container-export")
    status = main(
        ["train", "--config", "cpu_quick", "--model", "unet-tiny", "--strategy", "scratch"]
        + ["--data", str(hc18_truth_40), "--out", str(base / "run"), "--size", "64"]
        + ["--batch-size", "8", "--epochs", "100", "--max-steps", "30", "--lr", "3e-3"]
        + ["--seed", "0", "--threads", "1", "--no-progress"]
    )
    assert status == 0
    argv = ["export", "--checkpoint", str(base / "run" / "model.pt"), "--out", str(base / "x")]
    assert main([*argv, "--container"]) == 0
    return {"out": base / "x", "container": base / "x" / "container"}


@pytest.mark.slow
def test_export_writes_a_complete_build_context(exported: dict[str, Path]) -> None:
    context = exported["container"]
    dockerfile = (context / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isalpha()]
    assert "USER 1000:1000" in dockerfile and "VOLUME" not in instructions
    assert 'ENTRYPOINT ["python3", "/opt/model/run_model.py"]' in dockerfile
    assert (context / "model.onnx").read_bytes() == (exported["out"] / "model.onnx").read_bytes()
    spec = json.loads((context / "model.json").read_text())
    assert spec == json.loads((exported["out"] / "model.json").read_text())  # the very spec
    ModelSpec.from_dict(spec)  # the platform's own parser takes it
    # The shared base recipe, byte for byte: its cache key is the one every container uses.
    assert (context / "debian-python-base.sh").read_bytes() == BASE_SCRIPT.read_bytes()
    wheels = sorted(p.name.lower() for p in (context / "wheels").glob("*.whl"))
    assert len(wheels) == len(CONTAINER_PACKAGES)
    for name in CONTAINER_PACKAGES:
        pin = f"{name.replace('-', '_').lower()}-{importlib.metadata.version(name)}-"
        assert any(w.startswith(pin) for w in wheels), (pin, wheels)


@pytest.fixture(scope="module")
def container_archive(exported: dict[str, Path]):
    """`bash build.sh` of the generated context: the saved image, removed afterwards."""
    client = docker_client_or_skip(timeout=300)
    archive = exported["out"] / "model-container.tar"
    printed = build_offline_image(
        exported["container"] / "build.sh",
        archive,
        what="the reference-model container",
        timeout=1800,
    )
    path, tag = printed.split()
    assert Path(path) == archive
    config = client.images.get(tag).attrs["Config"]
    assert config["User"] == "1000:1000" and not config.get("Volumes")
    yield archive
    client.images.remove(tag, force=True)


@pytest.mark.slow
def test_container_masks_equal_the_model_file_masks(
    exported: dict[str, Path], container_archive: Path, tmp_path: Path
) -> None:
    cases = _real_cases(3, 1)
    input_dir = prepare_input(cases, tmp_path / "input")
    limits = python_container_limits(wall_seconds=300, memory_bytes=2 * GiB, cpus=2)
    outcome = run_submission(
        container_archive,
        input_dir,
        tmp_path / "container",
        limits=limits,
        client=docker_client_or_skip(timeout=300),
    )
    assert outcome.status is Status.OK, (outcome.message, outcome.log_tail)
    assert len(outcome.log_tail) == len(cases)  # one line per case, no warnings

    spec = json.loads((exported["container"] / "model.json").read_text())
    reference = run_model_file(
        "onnx", exported["out"] / "model.onnx", spec, input_dir, tmp_path / "model-file"
    )
    assert reference.status is Status.OK, reference.message
    foreground = 0
    for case in cases:
        ours = _mask(tmp_path / "container" / f"{case.case_id}.png")
        theirs = _mask(tmp_path / "model-file" / f"{case.case_id}.png")
        np.testing.assert_array_equal(ours, theirs, err_msg=case.case_id)
        rows, cols = pixels.read_image(case.image).shape[:2]
        assert ours.shape == (rows, cols) and set(np.unique(ours)) <= {0, 1}
        foreground += int(ours.sum())
    assert (
        0 < foreground < sum(_mask(tmp_path / "container" / f"{c.case_id}.png").size for c in cases)
    )
