"""Image in, tensor out, mask back: the one pixel pipeline of every model-file format (see
`sandbox.model_files.spec`). numpy at import time, SimpleITK, OpenCV and Pillow when used, and
no other project module at run time, so the reference container can carry a copy of this file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: this file also runs alone in the reference container
    from sandbox.model_files.spec import ModelSpec

MAX_PIXELS = 64_000_000


class OutputError(ValueError):
    """The model's output cannot be read as a label map; the message says why."""


def read_image(path: Path) -> np.ndarray:
    """A 2-D grey (H, W) or colour (H, W, 3) uint8-range array from PNG/MHA/NIfTI.

    Multi-plane MetaImages such as PSFHS's (3, H, W) identical grey planes become (H, W, 3).
    """
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    if image.GetNumberOfPixels() > MAX_PIXELS:
        raise ValueError(f"{path.name}: image too large")
    arr = sitk.GetArrayFromImage(image)
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = arr[..., :3]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"{path.name}: expected a 2-D image, got shape {arr.shape}")
    return arr.astype(np.float32)


def to_model_input(image: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Resize (bilinear) to the spec's size and normalise to float32 [1, C, H, W]."""
    import cv2

    h, w = spec.input_size
    if image.ndim == 3 and spec.channels == 1:
        image = image.mean(axis=-1)
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = np.repeat(resized[..., None], spec.channels, axis=-1)
    x = resized.astype(np.float32) * spec.scale
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    x = (x - mean) / std
    return np.ascontiguousarray(np.moveaxis(x, -1, 0)[None], dtype=np.float32)


def to_labels(output: Any, spec: ModelSpec) -> np.ndarray:
    """The model's [1, C, H, W] (or [1, H, W]) output as a uint8 label map (see the spec)."""
    h, w = spec.input_size
    arr = np.asarray(output)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[2:] != (h, w):
        raise OutputError(
            f"the model's output has shape {list(arr.shape)}; expected [1, C, {h}, {w}] "
            f"(or [1, {h}, {w}]) for input size [{h}, {w}]"
        )
    channels = arr.shape[1]
    if channels == 1:
        values = spec.class_values or (0, 1)
        scores = arr[0, 0].astype(np.float64)
        if spec.output == "logits":
            scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -60, 60)))
        return np.where(scores > spec.threshold, values[1], values[0]).astype(np.uint8)
    values = spec.class_values or tuple(range(channels))
    if len(values) != channels:
        raise OutputError(
            f"class_values lists {len(values)} labels but the model outputs {channels} channels"
        )
    return np.asarray(values, dtype=np.uint8)[np.argmax(arr[0], axis=0)]


def resize_back(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest-neighbour back to the original (H, W): label values must stay labels."""
    import cv2

    return cv2.resize(labels, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def write_mask(labels: Any, path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(path)
