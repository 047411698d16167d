"""Prediction at each case's original size, from a model in memory or an exported model file.

This mirrors what the platform does with a model file (resize to the spec's input size,
normalise, run, resize the output back, threshold or argmax), so a baseline's validation score
here is the score the leaderboard will show.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from reference_models.training.preprocessing import normalise, resize_image

Forward = Callable[[torch.Tensor], torch.Tensor]


def load_model_file(path: Path, spec_path: Path | None = None) -> tuple[Forward, dict]:
    """A callable for one of our exported model files and its spec (`model.json` beside it).

    Only for files we exported ourselves: `.pt2` and `.pt` are pickle-based, and the platform
    opens participants' files in its sandboxed child process only."""
    path = Path(path)
    spec_file = Path(spec_path) if spec_path else path.with_name("model.json")
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    suffix = path.suffix.lower()
    if suffix in (".pt", ".pt2"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # jit.load's deprecation notice
            if suffix == ".pt2":
                module = torch.export.load(str(path)).module()
            else:
                module = torch.jit.load(str(path), map_location="cpu").eval()

        def forward(x: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return module(x)

        return forward, spec
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def forward_onnx(x: torch.Tensor) -> torch.Tensor:
        (out,) = session.run(["mask"], {"image": x.numpy().astype(np.float32)})
        return torch.from_numpy(out)

    return forward_onnx, spec


def prepare(image: np.ndarray, input_size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, rows, cols) normalised input for one grey image."""
    small = resize_image(image, (int(input_size[0]), int(input_size[1])))
    return normalise(torch.from_numpy(small).unsqueeze(0))


def output_to_label_map(output: torch.Tensor, shape: tuple[int, int], spec: dict) -> np.ndarray:
    """Resize one (1, C, h, w) output back to `shape` and decode it into class values."""
    output = F.interpolate(output.float(), size=shape, mode="bilinear", align_corners=False)[0]
    values = np.asarray(spec["class_values"], dtype=np.uint8)
    if output.shape[0] == 1:  # as the platform: a probability against the threshold
        scores = torch.sigmoid(output[0]) if spec["output"] == "logits" else output[0]
        return values[(scores > spec["threshold"]).numpy().astype(np.intp)]
    return values[output.argmax(0).numpy()]


def predict_label_map(forward: Forward, image: np.ndarray, spec: dict) -> np.ndarray:
    """Label map (uint8, class values) at the image's own size."""
    output = forward(prepare(image, spec["input_size"]))
    return output_to_label_map(output, image.shape[:2], spec)
