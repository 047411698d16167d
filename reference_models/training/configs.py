"""Training configurations: `cpu_quick` for laptops and CI, `gpu_full` as in the paper.

gpu_full follows the fine-tuning paper: 512x512, Adam 1e-4, batch 10, 20 epochs, rotation and
flips, mixed precision. cpu_quick trades resolution and length for minutes on 2 cores.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; written into the checkpoint and the log."""

    name: str
    size: int  # square input side, a multiple of the model's size_multiple
    batch_size: int
    epochs: int
    learning_rate: float
    rotation_deg: float  # random rotation in [-rotation_deg, +rotation_deg]; 0 disables
    flips: bool  # random horizontal and vertical flips
    amp: bool  # mixed precision (CUDA only; ignored on CPU)
    max_train_images: int | None = None  # cap, to keep cpu_quick in minutes
    max_steps: int | None = None  # stop after this many optimiser steps (smoke runs, tests)
    validation_fraction: float = 0.2
    classification_weight: float = 0.1  # multi-task joint-loss weight
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, **changes) -> TrainConfig:
        """A copy with the given fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


CONFIGS: dict[str, TrainConfig] = {
    "cpu_quick": TrainConfig(
        name="cpu_quick",
        size=128,
        batch_size=8,
        epochs=8,
        learning_rate=1e-3,
        rotation_deg=10.0,
        flips=True,
        amp=False,
        max_train_images=300,
    ),
    "gpu_full": TrainConfig(
        name="gpu_full",
        size=512,
        batch_size=10,
        epochs=20,
        learning_rate=1e-4,
        rotation_deg=20.0,
        flips=True,
        amp=True,
    ),
}


def get_config(name: str) -> TrainConfig:
    """The named configuration, or a clear error listing the choices."""
    try:
        return CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; choose one of: {', '.join(CONFIGS)}") from None
