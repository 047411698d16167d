"""The pieces of model submissions without a worker: the model zip's checks, the TorchScript
runner (measured size, bad files, wrong output shapes), the runner's input folder (images and
inputs.json, never a label) and the participant-facing failure text."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sandbox.inputs import Case, prepare_input
from sandbox.model_files.bundle import BundleError, check_bundle, extract_bundle
from sandbox.model_files.process import run_model_file
from sandbox.outcome import Outcome, Status

SPEC = {"input_size": [32, 32]}


def _zip(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _scripted(module) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module.eval()), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"spec.json": b"{}"}, "exactly one model file"),
        ({"a.onnx": b"x", "b.onnx": b"x", "spec.json": b"{}"}, "exactly one model file"),
        ({"a.onnx": b"x"}, "exactly one .json spec"),
        ({"a.onnx": b"x", "spec.json": b"{nope"}, "not valid JSON"),
        ({"a.onnx": b"x", "spec.json": b'{"input_size": [1, 2]}'}, "input_size"),
        ({"a.pt": b"not a zip", "spec.json": json.dumps(SPEC).encode()}, "torch.jit.save"),
    ],
)
def test_bundle_problems_are_named(members: dict, expected: str) -> None:
    with pytest.raises(BundleError, match=expected):
        check_bundle(_zip(members))


def test_bundle_not_a_zip() -> None:
    with pytest.raises(BundleError, match=r"\.zip"):
        check_bundle(io.BytesIO(b"plain bytes"))


def test_bundle_extracts_under_a_fixed_name(tmp_path: Path) -> None:
    archive = tmp_path / "b.zip"
    archive.write_bytes(
        _zip({"deep/../../evil.onnx": b"x", "cfg/spec.json": json.dumps(SPEC).encode()}).read()
    )
    bundle = extract_bundle(archive, tmp_path / "out")
    assert bundle.model_path == tmp_path / "out" / "model.onnx"
    assert bundle.format == "onnx" and bundle.spec == SPEC
    assert not (tmp_path / "evil.onnx").exists()


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    cases = []
    for i, shape in enumerate(((40, 50), (30, 20))):
        path = images / f"c{i}.png"
        Image.fromarray((np.arange(np.prod(shape)).reshape(shape) % 255).astype("uint8")).save(path)
        cases.append(Case(f"c{i}", path, (0.2, 0.2)))
    return prepare_input(cases, tmp_path / "input")


def test_torchscript_measures_and_segments(tmp_path: Path, input_dir: Path) -> None:
    import torch

    model = tmp_path / "m.pt"
    model.write_bytes(_scripted(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1))))
    outcome = run_model_file("torchscript", model, SPEC, input_dir, tmp_path / "out")
    assert outcome.ok, outcome.to_dict()
    assert outcome.details["parameters"] == 2 * 9 + 2
    assert outcome.details["flops"] == 2 * 32 * 32 * 2 * 9
    assert outcome.details["median_latency_ms"] > 0
    masks = {p.name: np.asarray(Image.open(p)).shape for p in (tmp_path / "out").iterdir()}
    assert masks == {"c0.png": (40, 50), "c1.png": (30, 20)}  # back at the original sizes


def test_torchscript_bad_file_and_wrong_shape(tmp_path: Path, input_dir: Path) -> None:
    import torch

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"PK not really")
    outcome = run_model_file("torchscript", junk, SPEC, input_dir, tmp_path / "o1")
    assert outcome.status is Status.REJECTED and "not a TorchScript archive" in outcome.message

    pooled = tmp_path / "pooled.pt"
    pooled.write_bytes(_scripted(torch.nn.Sequential(torch.nn.MaxPool2d(2))))
    outcome = run_model_file("torchscript", pooled, SPEC, input_dir, tmp_path / "o2")
    assert outcome.status is Status.REJECTED
    assert "[1, 1, 16, 16]" in outcome.message and "expected [1, C, 32, 32]" in outcome.message

    outcome = run_model_file("torchscript", pooled, {"input_size": 5}, input_dir, tmp_path / "o3")
    assert outcome.status is Status.REJECTED and outcome.message.startswith("model spec:")


@pytest.mark.django_db
def test_runner_input_has_images_never_labels(tmp_path, make_challenge, settings) -> None:
    from challenges.services.inference import InferenceUnavailable, prepare_test_input
    from challenges.services.truth import load_truth

    from evaluator.truth import write_truth_set

    _, phase = make_challenge()
    image = np.full((20, 30), 100, np.uint8)
    label = np.zeros((20, 30), np.uint8)
    label[5:10, 5:10] = 1
    source = tmp_path / "truth"
    write_truth_set(
        source, [("a", "s1", (0.5, 0.25), label, {})], images={"a": image}, label_suffix=".png"
    )
    load_truth(phase, source)
    input_dir = prepare_test_input(phase, tmp_path / "input")
    assert sorted(p.name for p in input_dir.iterdir()) == ["a.png", "inputs.json"]
    listed = json.loads((input_dir / "inputs.json").read_text())["cases"]
    assert listed == [{"case_id": "a", "file": "a.png", "spacing_mm": [0.25, 0.5]}]
    assert np.asarray(Image.open(input_dir / "a.png")).max() == 100  # the image, not the label

    write_truth_set(tmp_path / "no-images", [("b", "s1", (1.0, 1.0), label, {})])
    load_truth(phase, tmp_path / "no-images")
    with pytest.raises(InferenceUnavailable, match="no images for 1 case"):
        prepare_test_input(phase, tmp_path / "input2")


def test_failure_text_has_reason_and_log_tail(settings) -> None:
    from challenges.services.inference import describe_outcome

    outcome = Outcome(
        Status.OOM,
        f"killed reading {settings.TRUTH_ROOT}/1/labels",
        log_tail=[f"line {i}" for i in range(40)],
    )
    text = describe_outcome(outcome)
    assert text.startswith("The model ran out of memory: killed reading <server>")
    assert str(settings.TRUTH_ROOT) not in text
    assert "line 39" in text and "line 19" not in text  # the last 20 lines
