"""The model-file formats `export` writes and their file names, without importing torch (the
command line lists them before anything heavy is loaded)."""

from __future__ import annotations

#: Format -> the network's file name in the export folder and in its submission zip.
FILE_NAMES = {"pt2": "model.pt2", "onnx": "model.onnx", "torchscript": "model.pt"}
#: torch.export first: TorchScript is deprecated in torch 2.14 (still written on request).
DEFAULT_FORMATS = ("pt2", "onnx")
SPEC_NAME = "model.json"
METADATA_NAME = "metadata.json"


def bundle_name(fmt: str) -> str:
    """The submission zip of one format: `model-pt2.zip`, `model-onnx.zip`, ..."""
    return f"model-{fmt}.zip"
