"""Losses: Dice + cross-entropy for masks, and the multi-task weighted joint loss.

Dice alone is unstable early in training and cross-entropy alone under-weights the small
pubic-symphysis class, so the sum of both is the usual choice in the fetal-ultrasound papers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over foreground classes; target holds class indices (N, H, W)."""
    if logits.shape[1] == 1:
        probs = torch.sigmoid(logits[:, 0])
        truth = (target > 0).float()
        inter = (probs * truth).sum(dim=(1, 2))
        total = probs.sum(dim=(1, 2)) + truth.sum(dim=(1, 2))
        return (1 - (2 * inter + eps) / (total + eps)).mean()
    probs = torch.softmax(logits, dim=1)[:, 1:]
    truth = F.one_hot(target.long(), logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].float()
    inter = (probs * truth).sum(dim=(2, 3))
    total = probs.sum(dim=(2, 3)) + truth.sum(dim=(2, 3))
    return (1 - (2 * inter + eps) / (total + eps)).mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Dice + (binary) cross-entropy; one output channel means a binary task."""
    if logits.shape[1] == 1:
        ce = F.binary_cross_entropy_with_logits(logits[:, 0], (target > 0).float())
    else:
        ce = F.cross_entropy(logits, target.long())
    return ce + soft_dice_loss(logits, target)


class JointLoss(nn.Module):
    """Multi-task loss: segmentation + `weight` x classification cross-entropy.

    The weight balances the two tasks as in the multi-task biometry paper and FetalNet; a
    small weight keeps the view/site classifier from dominating the shared encoder.
    """

    def __init__(self, classification_weight: float = 0.1) -> None:
        super().__init__()
        if classification_weight < 0:
            raise ValueError("classification_weight must be >= 0")
        self.classification_weight = classification_weight

    def forward(
        self,
        mask_logits: torch.Tensor,
        class_logits: torch.Tensor,
        mask_target: torch.Tensor,
        class_target: torch.Tensor,
    ) -> torch.Tensor:
        seg = segmentation_loss(mask_logits, mask_target)
        cls = F.cross_entropy(class_logits, class_target.long())
        return seg + self.classification_weight * cls
