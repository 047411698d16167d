"""Image preprocessing of training batches, and the normalisation exported models' spec states.

Training and inference must normalise identically or an exported baseline scores worse than
the model that was trained; keeping the one definition here (and writing it into the export
spec, `export.platform_spec.model_spec`) is what guarantees that. Prediction, offline as on the
platform, does not use `resize_image` or `normalise`: it runs the platform's pixel pipeline from
the spec (`export.predict`), so an offline score is the board's for the same model file.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

#: ImageNet statistics: the MobileNetV2 encoder was pretrained with them.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
NORMALISATION = {
    "scale": 1.0 / 255.0,
    "mean": list(MEAN),
    "std": list(STD),
    "channels": "grey image repeated to 3 channels",
    "resize": "direct (aspect not kept), area interpolation",
}


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Grey image as uint8; wider data is rescaled by its own range (MHA images can be 16-bit)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    lo, hi = float(np.min(image)), float(np.max(image))
    if hi <= lo:
        return np.zeros(image.shape, np.uint8)
    return np.round((image.astype(np.float64) - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Grey uint8 image resized to (rows, cols)."""
    return cv2.resize(to_uint8(image), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def resize_label(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Label map resized to (rows, cols) with nearest neighbour, so no new classes appear."""
    return cv2.resize(label.astype(np.uint8), (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def normalise(batch_uint8: torch.Tensor) -> torch.Tensor:
    """(N, H, W) uint8 -> (N, 3, H, W) float, normalised like ImageNet."""
    return normalise_unit(batch_uint8.float().div(255.0).unsqueeze(1))


def normalise_unit(batch: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) float in [0, 1] -> (N, 3, H, W) normalised like ImageNet.

    Augmentation runs before this step so that rotation fills corners with black (0), as an
    ultrasound frame's background is, rather than with mid-grey.
    """
    x = batch.expand(-1, 3, -1, -1)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std
