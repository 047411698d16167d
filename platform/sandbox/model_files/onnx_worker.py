"""The ONNX child process: `python -m sandbox.model_files.onnx_worker JOB.json` (started by
`run_model_file("onnx", ...)`).

Only what is ONNX-specific: loading the model from bytes (external data files are refused:
they could name any file on the host), counting parameters and MACs, and running one tensor
through onnxruntime. Job, cases, masks, limits and error reporting: `sandbox.model_files.worker`.
"""

from __future__ import annotations

import sys
from typing import Any

from sandbox.model_files.onnx_stats import count_macs, parameter_count
from sandbox.model_files.worker import LoadedModel, Rejected, WorkerJob, main, run_failure, short


def load(job: WorkerJob) -> LoadedModel:
    """Parse, check and measure the model, then open an onnxruntime session on it."""
    import onnx
    import onnxruntime as ort

    data = job.model.read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception:  # noqa: BLE001 - any parse failure means "not ONNX"
        raise Rejected("the model file is not a valid ONNX model") from None
    if not model.graph.node:
        raise Rejected("the model file is not a valid ONNX model (it has no graph)")
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in model.graph.initializer):
        raise Rejected("models with external data files are not accepted; embed the weights")
    initializers = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise Rejected(f"the model must have exactly one input (the image); it has {len(inputs)}")
    shape = job.input_shape
    macs, note = count_macs(model, inputs[0].name, shape)
    parameters = parameter_count(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = job.threads
    options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if job.use_gpu and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    try:
        session = ort.InferenceSession(data, options, providers=providers)
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, MemoryError) or "alloc" in str(exc).lower():
            raise MemoryError(short(exc)) from None  # e.g. constant folding of a huge tensor
        raise Rejected(f"onnxruntime cannot load the model: {short(exc)}") from None
    del data, model
    input_name = session.get_inputs()[0].name

    def run(tensor: Any) -> Any:
        try:
            return session.run(None, {input_name: tensor})[0]
        except Exception as exc:  # noqa: BLE001
            raise run_failure(exc, tensor.shape) from None

    details = {
        "parameters": parameters,
        "macs": macs,
        "flops": 2 * macs if macs is not None else None,
        "flops_note": note,
        "input_shape": shape,
        "providers": session.get_providers(),
    }
    return LoadedModel(run, details)


if __name__ == "__main__":
    sys.exit(main("sandbox.model_files.onnx_worker", load))
