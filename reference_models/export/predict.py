"""Prediction at each case's original size, from a model in memory or an exported model file.

The pixel steps are the platform's own (`sandbox.model_files.pixels`, through
`reference_models.export.platform_spec`), not a copy: read the image as the platform does,
resize it bilinearly to the spec's input size and normalise it, run the model, threshold or
argmax at the input size, and resize the label map back by nearest neighbour. So a baseline's
offline validation score is the score the leaderboard computes for the same model file
(`tests/reference_models/test_predict_equals_platform.py` checks the masks pixel for pixel).
Training's own preprocessing (`training.preprocessing.resize_image`: area interpolation after
a min-max rescale to uint8) is for training batches only.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reference_models.export.platform_spec import ModelSpec, pixels

Forward = Callable[[torch.Tensor], torch.Tensor]

#: Names the pixel pipeline behind a score: cached sweep rows (`experiments.sweep`) carry it in
#: their identity, so scores made before offline prediction ran the platform's steps are redone.
PIPELINE = "sandbox.model_files.pixels"


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
    # Only an ONNX file needs onnxruntime (about 0.2 s to import): .pt2 and .pt runs skip it.
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def forward_onnx(x: torch.Tensor) -> torch.Tensor:
        (out,) = session.run(["mask"], {"image": x.numpy().astype(np.float32)})
        return torch.from_numpy(out)

    return forward_onnx, spec


def _model_spec(spec: dict[str, Any] | ModelSpec) -> ModelSpec:
    return spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)


def predict_label_map(
    forward: Forward, image: np.ndarray, spec: dict[str, Any] | ModelSpec
) -> np.ndarray:
    """Label map (uint8, the spec's class values) at the image's own size.

    `image` is what `pixels.read_image` returns (float32 grey (H, W) or colour (H, W, 3));
    other dtypes are converted to float32 first, as that reader does, so that the bilinear
    resize rounds as the platform's does.
    """
    model_spec = _model_spec(spec)
    image = np.asarray(image, dtype=np.float32)
    tensor = torch.from_numpy(pixels.to_model_input(image, model_spec))
    output = forward(tensor).detach().cpu().numpy()
    return pixels.resize_back(pixels.to_labels(output, model_spec), image.shape[:2])


def predict_file(forward: Forward, path: Path, spec: dict[str, Any] | ModelSpec) -> np.ndarray:
    """Label map of one image file (PNG, MHA, NIfTI), read by the platform's reader."""
    return predict_label_map(forward, pixels.read_image(Path(path)), spec)
