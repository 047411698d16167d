"""The upload format of a model-file submission: one zip holding the network and its spec.

A zip (rather than two multipart files) keeps `/api/submissions/` to its single `file` field
and one sha256 per submission. It holds exactly one network (`*.onnx` for ONNX, `*.pt2` for a
`torch.export` program written by `torch.export.save`, `*.pt` for a TorchScript archive written
by `torch.jit.save`) and exactly one `*.json` spec (see `sandbox.model_files.spec` and
docs/model-container.md), at any folder depth; macOS `__MACOSX/` entries are ignored.
`python -m reference_models export` writes such zips as they are.

Nothing here loads the network: `.pt` and `.pt2` files are pickle-based (loading an untrusted
one can run code), so the upload request looks only at the zip's table of contents, the spec
and the network's magic bytes; the network is opened in the sandboxed child process only
(`sandbox.model_files.runners`).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sandbox.model_files.spec import ModelSpec, SpecError

MODEL_SUFFIXES = {".onnx": "onnx", ".pt2": "pt2", ".pt": "torchscript"}
#: Zip-based formats and how to save them, for the magic-bytes check at upload.
ZIP_FORMATS = {
    "torchscript": ("TorchScript archive", "torch.jit.save"),
    "pt2": ("torch.export program", "torch.export.save"),
}
MAX_MODEL_BYTES = 1024**3
MAX_SPEC_BYTES = 64 * 1024


class BundleError(ValueError):
    """The zip is not a usable model bundle; the message says what to fix."""


@dataclass(frozen=True)
class ModelBundle:
    model_path: Path
    spec: dict[str, Any]
    format: str  # "onnx", "pt2" or "torchscript"
    #: `spec` parsed (once, here): what the runners take, so they need not parse it again.
    model_spec: ModelSpec


def _members(archive: zipfile.ZipFile) -> tuple[zipfile.ZipInfo, zipfile.ZipInfo]:
    files = [
        info
        for info in archive.infolist()
        if not info.is_dir() and not info.filename.startswith("__MACOSX/")
    ]
    models = [i for i in files if Path(i.filename).suffix.lower() in MODEL_SUFFIXES]
    specs = [i for i in files if i.filename.lower().endswith(".json")]
    if len(models) != 1:
        raise BundleError(
            "the zip must hold exactly one model file (.onnx, .pt2 or .pt); "
            f"it holds {len(models)}."
        )
    if len(specs) != 1:
        raise BundleError(
            f"the zip must hold exactly one .json spec next to the model; it holds {len(specs)}."
        )
    model, spec = models[0], specs[0]
    if model.file_size > MAX_MODEL_BYTES:
        raise BundleError(f"the model file is larger than {MAX_MODEL_BYTES // 1024**2} MiB.")
    if spec.file_size > MAX_SPEC_BYTES:
        raise BundleError(f"the spec is larger than {MAX_SPEC_BYTES // 1024} KiB.")
    return model, spec


def _spec(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[dict[str, Any], ModelSpec]:
    try:
        data = json.loads(archive.read(info).decode("utf-8"))
        parsed = ModelSpec.from_dict(data)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise BundleError(f"{Path(info.filename).name}: {exc}") from None
        raise BundleError(f"{Path(info.filename).name} is not valid JSON.") from None
    return data, parsed


def check_bundle(fileobj: IO[bytes]) -> str:
    """Validate the table of contents and the spec without extracting the network; returns
    the model format. Cheap enough for the upload request."""
    try:
        with zipfile.ZipFile(fileobj) as archive:
            model, spec = _members(archive)
            _spec(archive, spec)
            fmt = MODEL_SUFFIXES[Path(model.filename).suffix.lower()]
            if fmt in ZIP_FORMATS:
                with archive.open(model) as handle:
                    if handle.read(2) != b"PK":
                        what, how = ZIP_FORMATS[fmt]
                        raise BundleError(
                            f"the {Path(model.filename).suffix.lower()} file is not a {what} "
                            f"(save it with {how})."
                        )
            return fmt
    except zipfile.BadZipFile:
        raise BundleError("upload a .zip holding the model file and its .json spec.") from None


def extract_bundle(path: Path, dest: Path) -> ModelBundle:
    """Extract the network (under a fixed name, never the participant's path) and the spec."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(path) as archive:
            model, spec_info = _members(archive)
            spec, parsed = _spec(archive, spec_info)
            suffix = Path(model.filename).suffix.lower()
            target = dest / f"model{suffix}"
            with archive.open(model) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, length=1024 * 1024)
            if target.stat().st_size > MAX_MODEL_BYTES:
                raise BundleError("the model file is larger than declared in the zip.")
    except zipfile.BadZipFile:
        raise BundleError("the upload is not a readable zip.") from None
    return ModelBundle(target, spec, MODEL_SUFFIXES[suffix], parsed)
