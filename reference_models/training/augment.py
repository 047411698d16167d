"""Batch augmentation on tensors: random flips and rotation, applied on the training device.

Augmenting whole batches with one affine grid is far cheaper than per-image PIL work on 2 CPU
cores, and on a GPU it keeps the data path off the CPU entirely.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment_batch(
    images: torch.Tensor,
    labels: torch.Tensor,
    rotation_deg: float,
    flips: bool,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """images (N, C, H, W) float, labels (N, H, W) integer; same transform for both per sample."""
    n = images.shape[0]
    if flips:
        h_flip = torch.rand(n, generator=generator) < 0.5
        v_flip = torch.rand(n, generator=generator) < 0.5
        images, labels = images.clone(), labels.clone()
        images[h_flip] = images[h_flip].flip(-1)
        labels[h_flip] = labels[h_flip].flip(-1)
        images[v_flip] = images[v_flip].flip(-2)
        labels[v_flip] = labels[v_flip].flip(-2)
    if rotation_deg > 0:
        angles = (torch.rand(n, generator=generator) * 2 - 1) * math.radians(rotation_deg)
        cos, sin = torch.cos(angles), torch.sin(angles)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        theta = theta.to(images.device, images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(
            images, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        )
        label_grid = grid.to(torch.float32)
        labels = (
            F.grid_sample(
                labels.unsqueeze(1).float(), label_grid, mode="nearest", align_corners=False
            )
            .squeeze(1)
            .to(labels.dtype)
        )
    return images, labels
