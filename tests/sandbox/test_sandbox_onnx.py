"""ONNX model files: real tiny models built with the `onnx` helper API, run in the limited
child process; bad files and bad specs fail with a clear outcome."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sandbox.inputs import Case, prepare_input
from sandbox.model_files.onnx_stats import count_macs, parameter_count
from sandbox.model_files.process import ModelLimits, run_model_file
from sandbox.outcome import Status

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SPEC = {"input_size": [32, 32], "channels": 1, "output": "logits"}
LIMITS = ModelLimits(wall_seconds=60, memory_bytes=3 * 1024**3, threads=1)


def conv_segmenter(path: Path, stride: int = 1, out_channels: int = 2, sigmoid: bool = False):
    """One 3x3 conv: channel 1 - channel 0 = 2x - 1, so argmax is "pixel brighter than 0.5"."""
    weight = np.zeros((out_channels, 1, 3, 3), np.float32)
    bias = np.zeros(out_channels, np.float32)
    if out_channels == 2:
        weight[0, 0, 1, 1], weight[1, 0, 1, 1] = -1.0, 1.0
        bias[:] = [0.5, -0.5]
    else:
        weight[0, 0, 1, 1], bias[0] = 20.0, -10.0
    nodes = [
        helper.make_node(
            "Conv", ["image", "w", "b"], ["logits"], pads=[1, 1, 1, 1], strides=[stride, stride]
        )
    ]
    output = "logits"
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["logits"], ["prob"]))
        output = "prob"
    graph = helper.make_graph(
        nodes,
        "segmenter",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture
def half_bright_input(tmp_path: Path) -> Path:
    """48x64 image: left half dark (30), right half bright (220)."""
    image = np.full((48, 64), 30, np.uint8)
    image[:, 32:] = 220
    Image.fromarray(image).save(tmp_path / "img.png")
    cases = [Case("case1", tmp_path / "img.png", (0.2, 0.2))]
    return prepare_input(cases, tmp_path / "input")


def test_conv_segmenter_segments_and_is_measured(tmp_path: Path, half_bright_input) -> None:
    model = conv_segmenter(tmp_path / "m.onnx")
    outcome = run_model_file("onnx", model, SPEC, half_bright_input, tmp_path / "out", LIMITS)
    assert outcome.status is Status.OK, (outcome.message, outcome.log_tail)
    mask = np.asarray(Image.open(tmp_path / "out" / "case1.png"))
    assert mask.shape == (48, 64) and set(np.unique(mask)) == {0, 1}
    assert (mask[:, :30] == 0).all() and (mask[:, 34:] == 1).all()
    d = outcome.details
    assert d["parameters"] == 2 * 9 + 2
    assert d["macs"] == (2 * 32 * 32) * 9 and d["flops"] == 2 * d["macs"]
    assert d["median_latency_ms"] > 0 and d["input_shape"] == [1, 1, 32, 32]
    assert outcome.log_tail == []  # the child writes nothing to stderr on a clean run


def test_class_values_and_single_channel_probabilities(tmp_path: Path, half_bright_input) -> None:
    model = conv_segmenter(tmp_path / "m.onnx")
    spec = {**SPEC, "class_values": [0, 2]}
    assert run_model_file("onnx", model, spec, half_bright_input, tmp_path / "a", LIMITS).ok
    assert set(np.unique(np.asarray(Image.open(tmp_path / "a" / "case1.png")))) == {0, 2}
    prob = conv_segmenter(tmp_path / "p.onnx", out_channels=1, sigmoid=True)
    spec = {**SPEC, "output": "probabilities", "threshold": 0.5, "class_values": [0, 255]}
    outcome = run_model_file("onnx", prob, spec, half_bright_input, tmp_path / "b", LIMITS)
    assert outcome.ok, outcome.message
    mask = np.asarray(Image.open(tmp_path / "b" / "case1.png"))
    assert mask[0, 0] == 0 and mask[0, -1] == 255


def test_not_onnx_and_wrong_output_shape_are_rejected(tmp_path: Path, half_bright_input) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00garbage, definitely not protobuf\xff" * 50)
    outcome = run_model_file("onnx", junk, SPEC, half_bright_input, tmp_path / "a", LIMITS)
    assert outcome.status is Status.REJECTED and "not a valid ONNX model" in outcome.message
    strided = conv_segmenter(tmp_path / "s.onnx", stride=2)
    outcome = run_model_file("onnx", strided, SPEC, half_bright_input, tmp_path / "b", LIMITS)
    assert outcome.status is Status.REJECTED
    assert "output has shape [1, 2, 16, 16]; expected [1, C, 32, 32]" in outcome.message
    model = conv_segmenter(tmp_path / "m.onnx")
    outcome = run_model_file(
        "onnx", model, {**SPEC, "channels": 3}, half_bright_input, tmp_path / "c", LIMITS
    )
    assert outcome.status is Status.REJECTED and "input of shape [1, 3, 32, 32]" in outcome.message


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({}, "input_size"),
        ({**SPEC, "channels": 2}, "channels must be 1 or 3"),
        ({**SPEC, "output": "softmax"}, "output must be"),
        ({**SPEC, "threshold": 2}, "threshold"),
        ({**SPEC, "normalisation": {"std": [0]}}, "std values must be positive"),
        ({**SPEC, "colour": True}, "unknown field"),
    ],
)
def test_bad_specs_are_rejected(tmp_path: Path, half_bright_input, spec, words) -> None:
    model = conv_segmenter(tmp_path / "m.onnx")
    outcome = run_model_file("onnx", model, spec, half_bright_input, tmp_path / "out", LIMITS)
    assert outcome.status is Status.REJECTED and words in outcome.message


def test_time_and_memory_limits(tmp_path: Path, half_bright_input) -> None:
    model = conv_segmenter(tmp_path / "m.onnx")
    quick = ModelLimits(wall_seconds=0.05, memory_bytes=LIMITS.memory_bytes, threads=1)
    outcome = run_model_file("onnx", model, SPEC, half_bright_input, tmp_path / "a", quick)
    assert outcome.status is Status.TIMEOUT and "0.05 s" in outcome.message
    # A graph that materialises a 16 GB tensor from a tiny file.
    shape = numpy_helper.from_array(np.array([4 * 1024 * 1024, 1, 32, 32], np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["big"]),
            helper.make_node("Add", ["big", "image"], ["logits"]),
        ],
        "hog",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        [shape],
    )
    hog = tmp_path / "hog.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), hog)
    outcome = run_model_file("onnx", hog, SPEC, half_bright_input, tmp_path / "b", LIMITS)
    assert outcome.status is Status.OOM, outcome.message
    assert "out of memory (limit 3072 MiB)" in outcome.message


def test_macs_of_matmul_and_gemm() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["x"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w1"], ["h"]),
            helper.make_node("MatMul", ["h", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [
            numpy_helper.from_array(np.zeros((64, 10), np.float32), "w1"),
            numpy_helper.from_array(np.zeros((10, 3), np.float32), "w2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert parameter_count(model) == 64 * 10 + 10 * 3
    macs, note = count_macs(model, "x", [1, 1, 8, 8])
    assert (macs, note) == (64 * 10 + 10 * 3, "ok")


def test_real_hc18_images_keep_their_size(tmp_path: Path) -> None:
    images = sorted((DATA / "hc18" / "training_set").glob("*_HC.png"))[:3]
    if not images:
        pytest.skip(f"real data not found under {DATA}")
    cases = [Case(p.stem, p, (0.1, 0.1)) for p in images]
    input_dir = prepare_input(cases, tmp_path / "input")
    model = conv_segmenter(tmp_path / "m.onnx")
    spec = {"input_size": [128, 192], "channels": 1, "normalisation": {"mean": 0.2, "std": 0.3}}
    outcome = run_model_file("onnx", model, spec, input_dir, tmp_path / "out", LIMITS)
    assert outcome.ok, outcome.message
    for path in images:
        mask = Image.open(tmp_path / "out" / f"{path.stem}.png")
        assert mask.size == Image.open(path).size


def test_external_data_is_refused(tmp_path: Path, half_bright_input) -> None:
    model = onnx.load(conv_segmenter(tmp_path / "m.onnx"))
    external = tmp_path / "ext.onnx"
    onnx.save(model, external, save_as_external_data=True, size_threshold=0, location="w.bin")
    outcome = run_model_file("onnx", external, SPEC, half_bright_input, tmp_path / "out", LIMITS)
    assert outcome.status is Status.REJECTED and "external data" in outcome.message
