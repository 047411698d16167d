"""The small JSON a participant submits with a model file (ONNX, TorchScript or pt2): how to feed
it, how to read it. One definition (`ModelSpec`) for every format and every reader: the upload
check, the sandboxed child, `reference_models` (which writes specs with it) and the reference
container (which gets a copy of this file at build time). Standard library only.

Pixel convention: raw grey values 0..255 are multiplied by `scale` (default 1/255) and then
normalised per channel as (x - mean) / std (defaults 0 and 1). The image is resized to
`input_size` = [height, width] and fed as float32 [1, channels, height, width].
Output: [1, C, H, W] (or [1, H, W]). C > 1: argmax over C, index i becomes `class_values[i]`
(default 0..C-1). C == 1: foreground where the probability (sigmoid of a logit when
`output` is "logits") exceeds `threshold`; foreground becomes `class_values[1]` (default 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SpecError(ValueError):
    """The JSON spec is unusable; the message says which field and why."""


@dataclass(frozen=True)
class ModelSpec:
    input_size: tuple[int, int]
    channels: int = 1
    scale: float = 1 / 255
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    output: str = "logits"
    threshold: float = 0.5
    class_values: tuple[int, ...] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> ModelSpec:
        if not isinstance(data, dict):
            raise SpecError("the model spec must be a JSON object")
        known = {"input_size", "channels", "normalisation", "output", "threshold", "class_values"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown field(s) {unknown}; expected some of {sorted(known)}")
        size = data.get("input_size")
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(isinstance(v, int) and 8 <= v <= 4096 for v in size)
        ):
            raise SpecError("input_size must be [height, width], integers from 8 to 4096")
        channels = data.get("channels", 1)
        if channels not in (1, 3):
            raise SpecError("channels must be 1 or 3")
        norm = data.get("normalisation", {}) or {}
        if not isinstance(norm, dict) or set(norm) - {"scale", "mean", "std"}:
            raise SpecError("normalisation must be an object with scale, mean and/or std")
        scale = norm.get("scale", 1 / 255)
        mean = _floats(norm.get("mean", [0.0]), "normalisation.mean", channels)
        std = _floats(norm.get("std", [1.0]), "normalisation.std", channels)
        if not isinstance(scale, int | float) or scale <= 0:
            raise SpecError("normalisation.scale must be a positive number")
        if any(s <= 0 for s in std):
            raise SpecError("normalisation.std values must be positive")
        output = data.get("output", "logits")
        if output not in ("logits", "probabilities"):
            raise SpecError('output must be "logits" or "probabilities"')
        threshold = data.get("threshold", 0.5)
        if not isinstance(threshold, int | float) or not 0 < threshold < 1:
            raise SpecError("threshold must be a number between 0 and 1")
        values = data.get("class_values")
        if values is not None and (
            not isinstance(values, list)
            or len(values) < 2
            or not all(isinstance(v, int) and 0 <= v <= 255 for v in values)
        ):
            raise SpecError("class_values must be a list of at least 2 label values 0..255")
        return cls(
            input_size=(size[0], size[1]),
            channels=channels,
            scale=float(scale),
            mean=mean,
            std=std,
            output=output,
            threshold=float(threshold),
            class_values=tuple(values) if values is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_size": list(self.input_size),
            "channels": self.channels,
            "normalisation": {"scale": self.scale, "mean": list(self.mean), "std": list(self.std)},
            "output": self.output,
            "threshold": self.threshold,
            "class_values": list(self.class_values) if self.class_values else None,
        }


def _floats(value: Any, name: str, channels: int) -> tuple[float, ...]:
    if isinstance(value, int | float):
        value = [value]
    if (
        not isinstance(value, list)
        or len(value) not in (1, channels)
        or not all(isinstance(v, int | float) for v in value)
    ):
        raise SpecError(f"{name} must be a number or a list of {channels} numbers")
    return tuple(float(v) for v in value)
