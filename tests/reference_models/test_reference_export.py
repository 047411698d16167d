"""Export round-trips: the torch.export, ONNX and TorchScript files give the model's own output."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from reference_models.cli import main
from reference_models.export.model_file import SegmentationOutput, export_model
from reference_models.export.predict import load_model_file, predict_label_map
from reference_models.nets.zoo import build_model
from reference_models.training.checkpoints import (
    CheckpointError,
    model_from_checkpoint,
    save_checkpoint,
)

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def _checkpoint(tmp_path, classes: int, class_values: list[int], aux: int | None = None):
    torch.manual_seed(1)
    model = build_model("unet-tiny", classes=classes, aux_classes=aux)
    model.eval()
    with torch.no_grad():  # non-trivial BN statistics, so eval mode matters in the comparison
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "model.ckpt"
    save_checkpoint(
        path,
        model,
        model_name="unet-tiny",
        classes=classes,
        class_values=class_values,
        sites=["a", "b"][:aux] if aux else None,
        input_size=[48, 64],
        strategy="scratch",
        bn_policy="papers-freeze",
        trainable_parameters=1,
        total_parameters=1,
    )
    return path


@pytest.mark.parametrize(("classes", "values", "aux"), [(1, [0, 1], None), (3, [0, 1, 2], 2)])
def test_exported_files_match_the_model(tmp_path, classes, values, aux) -> None:
    checkpoint = _checkpoint(tmp_path, classes, values, aux)
    formats = ("pt2", "onnx", "torchscript")
    written = export_model(checkpoint, tmp_path / "out", formats, output="probabilities")
    model, _ = model_from_checkpoint(checkpoint)
    reference = SegmentationOutput(model, probabilities=True).eval()
    x = torch.randn(2, 3, 48, 64)
    with torch.no_grad():
        expected = reference(x)
    scripted = torch.jit.load(str(written["torchscript"]))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), expected, rtol=1e-5, atol=1e-5)
    program = torch.export.load(str(written["pt2"])).module()
    with torch.no_grad():  # dynamic batch: 2 here, 1 on the platform
        torch.testing.assert_close(program(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(program(x[:1]), expected[:1], rtol=1e-5, atol=1e-5)
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed: ONNX output unchecked")
    forward, spec = load_model_file(written["onnx"])
    torch.testing.assert_close(forward(x), expected, rtol=1e-4, atol=1e-4)
    assert spec["output"] == "probabilities" and spec["class_values"] == values
    assert spec["input_size"] == [48, 64] and spec["channels"] == 3


def test_spec_and_prediction_at_original_size(tmp_path) -> None:
    """The spec is the platform's (threshold on the probability scale, a sigmoid first for
    logits), and predictions read it that way: logits and probabilities give one mask."""
    checkpoint = _checkpoint(tmp_path, 1, [0, 255])
    image = np.random.default_rng(0).integers(0, 255, size=(101, 77), dtype=np.uint8)
    labels = []
    for output in ("logits", "probabilities"):
        written = export_model(checkpoint, tmp_path / output, formats=("pt2",), output=output)
        spec = json.loads(written["spec"].read_text())
        assert set(spec) == {"input_size", "channels", "normalisation", "output", "threshold",
                             "class_values"}  # fmt: skip
        assert spec["output"] == output and spec["threshold"] == 0.5
        forward, spec = load_model_file(written["pt2"])
        label = predict_label_map(forward, image, spec)
        assert label.shape == (101, 77) and set(np.unique(label)) <= {0, 255}
        labels.append(label)
    assert (labels[0] == labels[1]).mean() > 0.999


def test_export_cli_reports_a_bad_checkpoint_in_one_line(tmp_path, capsys) -> None:
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    assert main(["export", "--checkpoint", str(tmp_path / "x.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read checkpoint") and "Traceback" not in err
    with pytest.raises(CheckpointError):
        model_from_checkpoint(tmp_path / "missing.pt")
