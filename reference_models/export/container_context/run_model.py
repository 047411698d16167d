"""Model-container entry point: segment every case of /input with the ONNX model next to it.

Written into each context by `python -m reference_models export --container` and run as the
image's ENTRYPOINT. It implements the container contract of docs/model-container.md: read
`inputs.json` in $FETALBENCH_INPUT (default /input), write one label map `<case_id>.png` per
case, at the input image's size, into $FETALBENCH_OUTPUT (default /output).

Nothing of fetalbench is installed in the image (numpy, onnxruntime, OpenCV, SimpleITK,
Pillow only), but `spec.py` and `pixels.py` beside this file are the platform's own
(platform/sandbox/model_files/spec.py and pixels.py, copied into the context at build time by
reference_models/export/container.py): the same spec parser, the same reader, the same
bilinear resize and normalisation, the same thresholding/argmax and nearest-neighbour resize
back, with the same library versions installed from the exporting environment. So this
container and the bare model file give the same masks;
tests/reference_models/test_export_container.py checks it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from pixels import read_image, resize_back, to_labels, to_model_input, write_mask
from spec import ModelSpec

HERE = Path(__file__).resolve().parent
MODEL = HERE / "model.onnx"
SPEC = HERE / "model.json"

__all__ = ["parse_spec", "read_image", "resize_back", "to_labels", "to_model_input"]


def parse_spec(data: dict[str, Any]) -> ModelSpec:
    """The platform's model spec with its defaults filled in (spec.py is the platform's)."""
    return ModelSpec.from_dict(data)


def _threads() -> int:
    """Intra-op threads: $FETALBENCH_THREADS, else the CPUs this process may use (at most 4,
    the platform's default CPU limit; more threads than the CPU quota only contend)."""
    configured = os.environ.get("FETALBENCH_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, min(4, len(os.sched_getaffinity(0))))


def main() -> int:
    import onnxruntime as ort

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
        write_mask(labels, output_dir / f"{case['case_id']}.png")
        print(f"{case['case_id']}: {labels.shape[1]}x{labels.shape[0]}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ValueError as exc:  # a bad spec, image or model output: one line, no stack trace
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
