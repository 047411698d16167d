"""Model-container entry point: segment every case of /input with the ONNX model next to it.

Written into each context by `python -m reference_models export --container` and run as the
image's ENTRYPOINT. It implements the container contract of docs/model-container.md: read
`inputs.json` in $FETALBENCH_INPUT (default /input), write one label map `<case_id>.png` per
case, at the input image's size, into $FETALBENCH_OUTPUT (default /output).

Self-contained on purpose (numpy, onnxruntime, OpenCV, SimpleITK, Pillow; nothing of
fetalbench), yet every pixel step is the platform's ONNX model-file runner's
(platform/sandbox/model_files/pixels.py and onnx_runner.py): the same reader, the same bilinear
resize and normalisation, the same thresholding/argmax and nearest-neighbour resize back, with
the same library versions installed from the exporting environment. So this container and the
bare model file give the same masks; tests/reference_models/test_export_container.py checks it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
MODEL = HERE / "model.onnx"
SPEC = HERE / "model.json"
MAX_PIXELS = 64_000_000


class ModelError(Exception):
    """A problem the log should state in one line (exit status 2), not as a stack trace."""


def parse_spec(data: dict[str, Any]) -> dict[str, Any]:
    """The platform's model spec with its defaults filled in (sandbox/model_files/spec.ModelSpec)."""
    norm = data.get("normalisation") or {}
    channels = int(data.get("channels", 1))
    if channels not in (1, 3):
        raise ModelError(f"model.json: channels must be 1 or 3, got {channels}")
    rows, cols = (int(v) for v in data["input_size"])
    mean, std = norm.get("mean", [0.0]), norm.get("std", [1.0])
    return {
        "input_size": (rows, cols),
        "channels": channels,
        "scale": float(norm.get("scale", 1 / 255)),
        "mean": [float(v) for v in (mean if isinstance(mean, list) else [mean])],
        "std": [float(v) for v in (std if isinstance(std, list) else [std])],
        "output": data.get("output", "logits"),
        "threshold": float(data.get("threshold", 0.5)),
        "class_values": data.get("class_values"),
    }


def read_image(path: Path) -> np.ndarray:
    """Grey (H, W) or colour (H, W, 3) float32, as the platform reads PNG, MHA and NIfTI.

    Multi-plane MetaImages such as PSFHS's (3, H, W) identical grey planes become (H, W, 3).
    """
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    if image.GetNumberOfPixels() > MAX_PIXELS:
        raise ModelError(f"{path.name}: image too large")
    arr = sitk.GetArrayFromImage(image)
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 3 and arr.shape[-1] == 4:
        arr = arr[..., :3]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ModelError(f"{path.name}: expected a 2-D image, got shape {arr.shape}")
    return arr.astype(np.float32)


def to_model_input(image: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Bilinear resize to input_size, `x * scale`, `(x - mean) / std`: float32 [1, C, H, W]."""
    import cv2

    h, w = spec["input_size"]
    if image.ndim == 3 and spec["channels"] == 1:
        image = image.mean(axis=-1)
    resized = cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = np.repeat(resized[..., None], spec["channels"], axis=-1)
    x = resized.astype(np.float32) * spec["scale"]
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    x = (x - mean) / std
    return np.ascontiguousarray(np.moveaxis(x, -1, 0)[None], dtype=np.float32)


def to_labels(output: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """C = 1: threshold the probability (sigmoid of logits); C > 1: argmax -> class_values."""
    h, w = spec["input_size"]
    arr = np.asarray(output)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[2:] != (h, w):
        raise ModelError(
            f"the model's output has shape {list(arr.shape)}; expected [1, C, {h}, {w}]"
        )
    channels = arr.shape[1]
    if channels == 1:
        values = spec["class_values"] or (0, 1)
        scores = arr[0, 0].astype(np.float64)
        if spec["output"] == "logits":
            scores = 1.0 / (1.0 + np.exp(-np.clip(scores, -60, 60)))
        return np.where(scores > spec["threshold"], values[1], values[0]).astype(np.uint8)
    values = spec["class_values"] or tuple(range(channels))
    if len(values) != channels:
        raise ModelError(f"class_values lists {len(values)} labels; the model has {channels}")
    return np.asarray(values, dtype=np.uint8)[np.argmax(arr[0], axis=0)]


def resize_back(labels: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Nearest neighbour back to the original (H, W): label values must stay labels."""
    import cv2

    return cv2.resize(labels, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _threads() -> int:
    """Intra-op threads: $FETALBENCH_THREADS, else the CPUs this process may use (at most 4,
    the platform's default CPU limit; more threads than the CPU quota only contend)."""
    configured = os.environ.get("FETALBENCH_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(4, len(os.sched_getaffinity(0))))


def main() -> int:
    import onnxruntime as ort
    from PIL import Image

    input_dir = Path(os.environ.get("FETALBENCH_INPUT", "/input"))
    output_dir = Path(os.environ.get("FETALBENCH_OUTPUT", "/output"))
    spec = parse_spec(json.loads(SPEC.read_text(encoding="utf-8")))
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads()
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(MODEL), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    manifest = json.loads((input_dir / "inputs.json").read_text(encoding="utf-8"))
    for case in manifest["cases"]:
        image = read_image(input_dir / case["file"])
        output = session.run(None, {input_name: to_model_input(image, spec)})[0]
        labels = resize_back(to_labels(output, spec), image.shape[:2])
        Image.fromarray(np.asarray(labels, dtype=np.uint8)).save(
            output_dir / f"{case['case_id']}.png"
        )
        print(f"{case['case_id']}: {labels.shape[1]}x{labels.shape[0]}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
