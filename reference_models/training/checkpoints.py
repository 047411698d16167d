"""Checkpoints: weights plus everything needed to rebuild, export and describe the model.

Only plain Python types and tensors are stored so that `torch.load(weights_only=True)` can
read them: a checkpoint from a stranger must never execute code on load.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from reference_models.errors import CheckpointError
from reference_models.nets.zoo import build_model


def save_checkpoint(path: Path, model: nn.Module, **meta) -> None:
    """Save `model`'s weights with `meta` (model_name, classes, class_values, ...)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": "fetalbench-reference-model/1", **meta, "state_dict": state}, path)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by `save_checkpoint`, with a clear error otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise CheckpointError(
            f"cannot read checkpoint {path}: {str(exc).splitlines()[0][:200]}"
        ) from None
    if not isinstance(data, dict) or data.get("format") != "fetalbench-reference-model/1":
        raise CheckpointError(f"{path} is not a fetalbench reference-model checkpoint")
    return data


def model_from_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """Rebuild the model in eval mode and return it with the checkpoint's metadata."""
    data = load_checkpoint(path)
    sites = data.get("sites")
    model = build_model(
        data["model_name"], classes=data["classes"], aux_classes=len(sites) if sites else None
    )
    model.load_state_dict(data["state_dict"])
    model.eval()
    return model, data
