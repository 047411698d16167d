"""Write a model-container build context for an exported ONNX model (`export --container`).

The context is everything `docker build` needs, offline: the Dockerfile, the ONNX file, its
platform spec (`model.json`, exactly the one a model-file submission carries), the runner
`run_model.py` with copies of the platform's `spec.py` and `pixels.py` beside it (taken at
build time: one pixel pipeline, no twin), the wheels of this environment's
numpy/onnxruntime/OpenCV/SimpleITK, the shared Debian base script and `build.sh`, which
builds the image and `docker save`s it to a tar ready for a kind=container submission.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reference_models.errors import ExportError
from reference_models.export.platform_spec import CONTAINER_MODULES, ModelSpec, SpecError
from reference_models.export.wheels import collect_wheels

TEMPLATES = Path(__file__).resolve().parent / "container_context"
TEMPLATE_FILES = ("Dockerfile", "build.sh", "run_model.py", ".dockerignore")
#: The one Debian base recipe all fetalbench model containers share (and its cache key).
BASE_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "debian-python-base.sh"


def write_container_context(onnx_file: Path, spec_file: Path, out_dir: Path) -> dict[str, Path]:
    """Fill `out_dir` with a build context for the ONNX model; returns the main paths."""
    onnx_file, spec_file, out_dir = Path(onnx_file), Path(spec_file), Path(out_dir)
    if onnx_file.suffix.lower() != ".onnx":
        raise ExportError(f"{onnx_file.name}: a model container runs the ONNX export")
    if not BASE_SCRIPT.is_file():
        raise ExportError(f"{BASE_SCRIPT} is missing: run the export from a fetalbench checkout")
    try:
        spec = json.loads(spec_file.read_text(encoding="utf-8"))
        ModelSpec.from_dict(spec)  # the platform's own parser
    except (SpecError, ValueError) as exc:
        raise ExportError(f"{spec_file}: {exc}") from None
    if out_dir.exists():
        shutil.rmtree(out_dir)  # a stale context (other wheels, other model) must not linger
    out_dir.mkdir(parents=True)
    for name in TEMPLATE_FILES:
        shutil.copy2(TEMPLATES / name, out_dir / name)
    for module in CONTAINER_MODULES:
        shutil.copy2(module, out_dir / module.name)
    shutil.copy2(BASE_SCRIPT, out_dir / BASE_SCRIPT.name)
    shutil.copy2(onnx_file, out_dir / "model.onnx")
    (out_dir / "model.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    collect_wheels(out_dir / "wheels")
    return {
        "container": out_dir,
        "container_build": out_dir / "build.sh",
        "container_dockerfile": out_dir / "Dockerfile",
    }
