"""The plain (Ronneberger-style) U-Net, laid out like smp's models.

It exposes `encoder`, `decoder.blocks[i]` and `segmentation_head` under the same attribute
names as a segmentation-models-pytorch U-Net so that fine-tuning strategies, which name
parameter groups by module path, apply to both families unchanged.

With base 64, 3 input channels and 1 class it has exactly 31,037,633 parameters: the count the
fine-tuning papers quote for "the plain U-Net" (bias-free 3x3 convolutions followed by
BatchNorm, transposed-convolution upsampling). One input channel gives 31,036,481 instead.
"""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 conv-BN-ReLU; no conv bias because BatchNorm's shift makes it redundant."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class PlainEncoder(nn.Module):
    """Five stages (the first at full resolution); returns every stage's features."""

    def __init__(self, in_channels: int, widths: list[int]) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        previous = in_channels
        for width in widths:
            self.stages.append(_double_conv(previous, width))
            previous = width
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features: list[torch.Tensor] = []
        for index, stage in enumerate(self.stages):
            if index > 0:
                x = self.pool(x)
            x = stage(x)
            features.append(x)
        return features


class PlainDecoderBlock(nn.Module):
    """Upsample by a transposed conv, concatenate the skip, then a double conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.conv = _double_conv(out_channels * 2, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class PlainDecoder(nn.Module):
    """Four up-blocks, deepest first (block 0 sits next to the bottleneck, as in smp)."""

    def __init__(self, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            PlainDecoderBlock(widths[k], widths[k - 1]) for k in range(len(widths) - 1, 0, -1)
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]
        skips = features[:-1][::-1]
        for block, skip in zip(self.blocks, skips, strict=True):
            x = block(x, skip)
        return x


class PlainUNet(nn.Module):
    """U-Net of Ronneberger et al. (2015) with BatchNorm; `base` sets the first width.

    `aux_classes` adds a classification head on the bottleneck (multi-task U-Net); the model
    then returns `(mask_logits, class_logits)` like smp's `aux_params` models do.
    """

    def __init__(
        self,
        in_channels: int = 3,
        classes: int = 1,
        base: int = 64,
        aux_classes: int | None = None,
        aux_dropout: float = 0.2,
    ) -> None:
        super().__init__()
        widths = [base * 2**k for k in range(5)]
        self.encoder = PlainEncoder(in_channels, widths)
        self.decoder = PlainDecoder(widths)
        self.segmentation_head = nn.Conv2d(widths[0], classes, 1)
        self.classification_head: nn.Module | None = None
        if aux_classes is not None:
            self.classification_head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Dropout(aux_dropout),
                nn.Linear(widths[-1], aux_classes),
            )

    def forward(self, x: torch.Tensor):
        features = self.encoder(x)
        masks = self.segmentation_head(self.decoder(features))
        if self.classification_head is not None:
            return masks, self.classification_head(features[-1])
        return masks
