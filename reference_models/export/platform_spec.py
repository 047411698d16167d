"""The model-file spec, taken from the platform itself: one definition, not a copy.

An exported model is only useful if the platform takes it as it is, so the spec we write is
built and checked with the platform's own parser (`sandbox.model_files.spec.ModelSpec`, the one the
upload check and the sandboxed runner use). `platform/` is a folder on the import path rather
than a package (it would shadow Python's `platform`), so it is appended to `sys.path` here
when `reference_models` runs on its own (`python -m reference_models`). The spec module is
standard-library only and parsed by every reader the same way (upload, sandboxed child,
reference container).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_PLATFORM = Path(__file__).resolve().parents[2] / "platform"
if str(_PLATFORM) not in sys.path:
    sys.path.append(str(_PLATFORM))  # appended: never shadows an installed module

from sandbox.model_files import pixels, spec  # noqa: E402
from sandbox.model_files.spec import ModelSpec, SpecError  # noqa: E402

from reference_models.nets.zoo import IN_CHANNELS  # noqa: E402
from reference_models.training.preprocessing import NORMALISATION  # noqa: E402

__all__ = ["CONTAINER_MODULES", "ModelSpec", "SpecError", "model_spec", "pixels"]

#: The platform's spec and pixel modules, copied as they are into a model container's build
#: context (`container.py`), so the container runs the one pixel pipeline, not a twin.
CONTAINER_MODULES = (Path(spec.__file__), Path(pixels.__file__))


def model_spec(meta: dict[str, Any], output: str) -> dict[str, Any]:
    """The platform spec (as JSON-ready dict) of a model exported from a checkpoint's `meta`.

    Binary models are read by the platform as probabilities (a sigmoid is applied first when
    `output` is "logits") against `threshold` 0.5; multi-class models by argmax, channel k
    meaning `class_values[k]`. The input is the grey image in all channels, resized to
    `input_size` and normalised as in training.
    """
    spec = ModelSpec(
        input_size=(int(meta["input_size"][0]), int(meta["input_size"][1])),  # [rows, cols]
        channels=IN_CHANNELS,
        scale=float(NORMALISATION["scale"]),
        mean=tuple(float(v) for v in NORMALISATION["mean"]),
        std=tuple(float(v) for v in NORMALISATION["std"]),
        output=output,
        threshold=0.5,
        class_values=tuple(int(v) for v in meta["class_values"]),
    )
    data = spec.to_dict()
    ModelSpec.from_dict(data)  # what the platform will do with it: refuse here, not there
    return data
