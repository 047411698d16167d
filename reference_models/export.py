"""Export a trained checkpoint as a model file (TorchScript and/or ONNX) plus its JSON spec.

The spec tells the platform how to feed the network exactly as training did (size,
channels, normalisation) and how to read its output (logits or probabilities, threshold,
class values), so a participant's model file runs on hidden images without their code.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from reference_models.checkpoints import model_from_checkpoint
from reference_models.preprocessing import NORMALISATION
from reference_models.zoo import IN_CHANNELS

SPEC_FORMAT = "fetalbench-model-file/1"
FILE_NAMES = {"torchscript": "model.pt", "onnx": "model.onnx"}


class ExportError(ValueError):
    """An export that cannot be done here; the message says what is missing."""


class SegmentationOutput(nn.Module):
    """Wraps a model so it returns one mask tensor: logits, or probabilities if asked.

    Multi-task models also return class logits; a model file carries the segmentation only.
    """

    def __init__(self, model: nn.Module, probabilities: bool) -> None:
        super().__init__()
        self.model = model
        self.probabilities = probabilities

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.model(x)
        logits = output[0] if isinstance(output, tuple) else output
        if not self.probabilities:
            return logits
        return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)


def model_spec(meta: dict, output: str, framework: str, file_name: str) -> dict:
    """The JSON spec of an exported model file."""
    binary = meta["classes"] == 1
    return {
        "format": SPEC_FORMAT,
        "framework": framework,
        "file": file_name,
        "input_size": list(meta["input_size"]),  # [rows, cols]
        "channels": IN_CHANNELS,
        "layout": "NCHW",
        "dtype": "float32",
        "normalisation": NORMALISATION,
        "output": output,
        "activation": "sigmoid" if binary else "softmax",
        # Binary: foreground where the sigmoid probability (or logit > 0) exceeds threshold.
        # Multi-class: argmax over channels, channel k meaning class_values[k].
        "threshold": (0.5 if output == "probabilities" else 0.0) if binary else None,
        "class_values": list(meta["class_values"]),
        "metadata": {
            "model": meta["model_name"],
            "strategy": meta.get("strategy"),
            "bn_policy": meta.get("bn_policy"),
            "trainable_parameters": meta.get("trainable_parameters"),
            "total_parameters": meta.get("total_parameters"),
        },
    }


def export_model(
    checkpoint: Path,
    out_dir: Path,
    formats: tuple[str, ...] = ("torchscript", "onnx"),
    output: str = "probabilities",
    container: bool = False,
) -> dict[str, Path]:
    """Write model.pt / model.onnx with model.pt.json / model.onnx.json; returns the paths.

    With `container`, also `out_dir/container/`: a model-container build context around the
    ONNX file (see reference_models.container), so the same export can be submitted as a
    model file or as a container.
    """
    if output not in ("logits", "probabilities"):
        raise ExportError(f"output must be 'logits' or 'probabilities', got {output!r}")
    unknown = set(formats) - set(FILE_NAMES)
    if unknown:
        raise ExportError(f"unknown format(s) {sorted(unknown)}; choose from {list(FILE_NAMES)}")
    if container and "onnx" not in formats:
        raise ExportError("the model container runs the ONNX file: add onnx to the formats")
    model, meta = model_from_checkpoint(checkpoint)
    wrapped = SegmentationOutput(model, output == "probabilities").eval()
    rows, cols = meta["input_size"]
    example = torch.zeros(1, IN_CHANNELS, rows, cols)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for framework in formats:
        path = out_dir / FILE_NAMES[framework]
        if framework == "torchscript":
            _export_torchscript(wrapped, example, path)
        else:
            _export_onnx(wrapped, example, path)
        spec_path = path.with_name(path.name + ".json")
        spec = model_spec(meta, output, framework, path.name)
        spec_path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        written[framework] = path
        written[f"{framework}_spec"] = spec_path
    if container:
        from reference_models.container import write_container_context

        written.update(
            write_container_context(written["onnx"], written["onnx_spec"], out_dir / "container")
        )
    return written


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace (smp models do not script); the traced graph is fixed to NCHW float input."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarning, and trace's deprecation notice
        traced = torch.jit.trace(model, example, check_trace=False)
    traced.save(str(path))


def _export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """ONNX with a dynamic batch axis; needs the `onnx` package."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' package: pip install onnx") from None
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["mask"],
            dynamic_axes={"image": {0: "batch"}, "mask": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
