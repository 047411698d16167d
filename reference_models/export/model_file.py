"""Export a trained checkpoint as model files the platform takes as they are.

`OUT/` gets, per format, the network (`model.pt2` from torch.export, `model.onnx`,
`model.pt` TorchScript) and a ready submission `model-<format>.zip` (the network + `model.json`),
plus `model.json` (the platform's spec, built with the platform's own parser:
`reference_models.export.platform_spec`) and `metadata.json` (what was trained, for people and for
the submission's form fields). `fetalbench submit --kind model OUT/model-pt2.zip` sends it.

torch.export (`pt2`) is the default with ONNX: TorchScript is deprecated in torch 2.14 and
stays available with `--format torchscript`.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from reference_models.errors import ExportError
from reference_models.export.container import write_container_context
from reference_models.export.formats import (
    DEFAULT_FORMATS,
    FILE_NAMES,
    METADATA_NAME,
    SPEC_NAME,
    bundle_name,
)
from reference_models.export.platform_spec import model_spec
from reference_models.nets.zoo import IN_CHANNELS
from reference_models.training.checkpoints import model_from_checkpoint


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


def model_metadata(meta: dict, output: str, files: dict[str, str]) -> dict:
    """What was trained (model, strategy, parameter counts) and which files hold it.

    Kept out of the spec on purpose: the platform's spec parser refuses fields it does not
    know, and these travel as the submission's form fields instead."""
    return {
        "model": meta["model_name"],
        "strategy": meta.get("strategy"),
        "bn_policy": meta.get("bn_policy"),
        "classes": meta["classes"],
        "class_values": list(meta["class_values"]),
        "input_size": list(meta["input_size"]),
        "output": output,
        "trainable_parameters": meta.get("trainable_parameters"),
        "total_parameters": meta.get("total_parameters"),
        "files": files,
    }


def export_model(
    checkpoint: Path,
    out_dir: Path,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    output: str = "probabilities",
    container: bool = False,
) -> dict[str, Path]:
    """Write each format's model file and submission zip, `model.json` and `metadata.json`.

    Returns the paths: `<format>` (the network), `<format>_bundle` (its zip), `spec`,
    `metadata`. With `container`, also `out_dir/container/`: a model-container build context
    around the ONNX file (see reference_models.export.container), so the same export can be
    submitted as a model file or as a container.
    """
    if output not in ("logits", "probabilities"):
        raise ExportError(f"output must be 'logits' or 'probabilities', got {output!r}")
    unknown = set(formats) - set(FILE_NAMES)
    if unknown:
        raise ExportError(f"unknown format(s) {sorted(unknown)}; choose from {list(FILE_NAMES)}")
    if not formats:
        raise ExportError(f"choose at least one format of {list(FILE_NAMES)}")
    if container and "onnx" not in formats:
        raise ExportError("the model container runs the ONNX file: add onnx to the formats")
    model, meta = model_from_checkpoint(checkpoint)
    wrapped = SegmentationOutput(model, output == "probabilities").eval()
    rows, cols = meta["input_size"]
    # Batch 2, so that the batch axis is traced as dynamic (a size-1 axis is specialised).
    example = torch.zeros(2, IN_CHANNELS, rows, cols)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec_path = out_dir / SPEC_NAME
    spec_path.write_text(json.dumps(model_spec(meta, output), indent=2) + "\n", encoding="utf-8")
    written: dict[str, Path] = {"spec": spec_path}
    for fmt in formats:
        path = out_dir / FILE_NAMES[fmt]
        EXPORTERS[fmt](wrapped, example, path)
        written[fmt] = path
        written[f"{fmt}_bundle"] = write_bundle(path, spec_path, out_dir / bundle_name(fmt))
    files = {fmt: FILE_NAMES[fmt] for fmt in formats}
    metadata = model_metadata(meta, output, files)
    written["metadata"] = out_dir / METADATA_NAME
    written["metadata"].write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    if container:
        written.update(write_container_context(written["onnx"], spec_path, out_dir / "container"))
    return written


def write_bundle(model_file: Path, spec_file: Path, out_zip: Path) -> Path:
    """The model-file submission: one zip holding the network and `model.json`, nothing else
    (the platform takes exactly one network and one .json)."""
    with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_STORED) as archive:
        archive.write(model_file, model_file.name)
        archive.write(spec_file, SPEC_NAME)
    return out_zip


def _export_pt2(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """torch.export with a dynamic batch axis; the program holds plain tensors only (what
    the platform's sandbox accepts, see platform/sandbox/model_files/pt2_archive.py)."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad():
        program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, str(path))


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace (smp models do not script); the traced graph is fixed to NCHW float input."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarning, and trace's deprecation notice
        traced = torch.jit.trace(model, example, check_trace=False)
    traced.save(str(path))


def _export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """ONNX with a dynamic batch axis; needs the `onnx` package.

    No constant folding: folding merges BatchNorm into the convolutions, and the platform then
    measures fewer parameters than the network has (unet-tiny: 485,817 of 486,553).
    onnxruntime fuses them again when it loads the model, so inference is as fast."""
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
            do_constant_folding=False,
            dynamo=False,
        )


EXPORTERS = {"pt2": _export_pt2, "onnx": _export_onnx, "torchscript": _export_torchscript}
