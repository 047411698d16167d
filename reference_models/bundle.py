"""Package an exported model file the way the platform takes a model submission.

The platform accepts ONE zip holding exactly one network (`.pt` TorchScript or `.onnx`) and
exactly one `.json` spec, and its spec parser refuses fields it does not know (see
platform/challenges/services/model_bundle.py and platform/sandbox/onnx_spec.py). Our export
spec is richer (format, framework, metadata, descriptive normalisation notes), so the zip
carries the platform's subset of it; the metadata travels as the submission's form fields.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from reference_models.export import ExportError

#: Fields of the platform's model spec; anything else in our export spec is refused there.
PLATFORM_SPEC_FIELDS = ("input_size", "channels", "normalisation", "output", "class_values")
PLATFORM_NORMALISATION_FIELDS = ("scale", "mean", "std")


def platform_spec(export_spec: dict) -> dict:
    """The platform's view of an export spec: how to feed the network and read its output.

    The platform thresholds binary outputs as probabilities (a sigmoid is applied first when
    `output` is "logits"), so the threshold is always 0.5 there, whereas our logits spec says
    0.0 on the logit scale: the same decision boundary.
    """
    missing = [k for k in PLATFORM_SPEC_FIELDS if k not in export_spec]
    if missing:
        raise ExportError(f"the model spec lacks {missing}: re-export the checkpoint")
    spec = {k: export_spec[k] for k in PLATFORM_SPEC_FIELDS}
    spec["normalisation"] = {
        k: export_spec["normalisation"][k]
        for k in PLATFORM_NORMALISATION_FIELDS
        if k in export_spec["normalisation"]
    }
    if len(spec["class_values"]) == 2 and export_spec.get("activation") == "sigmoid":
        spec["threshold"] = 0.5
    return spec


def write_model_bundle(model_file: Path, spec_file: Path, out_zip: Path) -> Path:
    """Zip `model_file` with the platform spec derived from `spec_file`; returns the zip."""
    model_file, spec_file, out_zip = Path(model_file), Path(spec_file), Path(out_zip)
    if model_file.suffix.lower() not in (".pt", ".onnx"):
        raise ExportError(f"{model_file.name}: the platform takes .pt or .onnx model files")
    try:
        export_spec = json.loads(spec_file.read_text(encoding="utf-8"))
    except ValueError:
        raise ExportError(f"{spec_file} is not valid JSON") from None
    spec = platform_spec(export_spec)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(model_file, model_file.name)
        archive.writestr(model_file.stem + ".json", json.dumps(spec, indent=2) + "\n")
    return out_zip
