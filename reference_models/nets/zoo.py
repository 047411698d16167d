"""The model zoo: every reference architecture by name, built without downloading weights.

Names are what participants see on leaderboards (backbone metadata) and what the CLI takes.
All models read 3 input channels (the grey image repeated) because that is what
ImageNet-pretrained encoders expect and what the papers' parameter counts assume. "The
fine-tuning paper" is Wang, Silvestre and Curran (arXiv:2307.09067, 2023, and its follow-up
arXiv:2407.20086; `reference_models.experiments.paper`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from reference_models.errors import UnknownModelError
from reference_models.nets.plain_unet import PlainUNet

IN_CHANNELS = 3


@dataclass(frozen=True)
class ModelInfo:
    """What a name builds: an smp encoder U-Net or a plain U-Net of a given base width."""

    name: str
    description: str
    encoder: str | None = None  # smp encoder name; None for the plain U-Net
    base: int = 64  # first width of the plain U-Net

    @property
    def size_multiple(self) -> int:
        """Input sides must be multiples of this (2**depth of the encoder)."""
        return 32 if self.encoder else 16


MODELS: dict[str, ModelInfo] = {
    info.name: info
    for info in (
        ModelInfo(
            "unet-mobilenet_v2",
            "U-Net, MobileNetV2 encoder (the fine-tuning paper's)",
            "mobilenet_v2",
        ),
        ModelInfo("unet-resnet18", "U-Net, ResNet-18 encoder", "resnet18"),
        ModelInfo("unet-resnet34", "U-Net, ResNet-34 encoder", "resnet34"),
        ModelInfo("unet-efficientnet-b0", "U-Net, EfficientNet-B0 encoder", "efficientnet-b0"),
        ModelInfo("unet-vgg16", "V-Unet: U-Net, VGG-16 encoder (lung-ultrasound paper)", "vgg16"),
        ModelInfo("unet-plain", "plain Ronneberger U-Net, 31M parameters", None, 64),
        ModelInfo("unet-small", "plain U-Net, base width 16, for quick runs", None, 16),
        ModelInfo("unet-tiny", "plain U-Net, base width 8, for tests and smoke runs", None, 8),
    )
}


def model_info(name: str) -> ModelInfo:
    """The zoo entry for `name`, or a clear error listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; choose one of: {', '.join(MODELS)}"
        ) from None


def build_model(name: str, classes: int = 1, aux_classes: int | None = None) -> nn.Module:
    """A randomly initialised model; `aux_classes` adds the bottleneck classification head.

    `classes` is 1 for a binary task (one logit, sigmoid) and the number of labels including
    background for a multi-class task (softmax), e.g. 3 for PSFHS.
    """
    info = model_info(name)
    if classes < 1:
        raise ValueError(f"classes must be >= 1, got {classes}")
    if info.encoder is None:
        return PlainUNet(IN_CHANNELS, classes, base=info.base, aux_classes=aux_classes)
    import segmentation_models_pytorch as smp

    aux = None if aux_classes is None else {"classes": aux_classes, "dropout": 0.2}
    return smp.Unet(
        info.encoder,
        encoder_weights=None,  # no hub here; pretrained weights come from pretrained.py
        in_channels=IN_CHANNELS,
        classes=classes,
        aux_params=aux,
    )


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (optionally only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
