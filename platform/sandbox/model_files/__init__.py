"""The model-file wing of the sandbox: a zip holding one network (ONNX, TorchScript or pt2) and
its JSON spec, checked at upload and run in a limited child process.

Parent side (the inference worker):
- `bundle`: the upload format (table of contents, spec and magic bytes; never loads the network).
- `backend`: `ModelFileBackend`, the `model_file` backend of `sandbox.backends` (extracts the
  bundle, runs it).
- `process`: `run_model_file(fmt, ...)`, the one launcher: `ModelLimits`, the format -> child
  table `WORKERS`, the clean environment, rlimits and the `Outcome`.

Child side (`python -m sandbox.model_files.<format>_worker JOB.json`):
- `worker`: the loop every format shares (job, cases, masks, result JSON, exit codes).
- `onnx_worker` (+ `onnx_stats`: parameters and MACs of an ONNX graph), `torchscript_worker`,
  `pt2_worker` (+ `pt2_archive`: the pickle check before `torch.export.load`): only loading
  and measuring; the two torch formats share `torch_runtime` (device, FLOPs, forward pass).

Both sides:
- `spec`: `ModelSpec`, the one spec contract (stdlib only; `reference_models` writes specs
  with it, the reference container carries a copy).
- `pixels`: the one pixel pipeline (image -> input tensor, labels -> mask), NumPy at import
  (the reference container carries a copy too).

Plain Python like the rest of `sandbox/`: never Django or `challenges`
(tests/test_import_cycles.py), nor `sandbox.containers`. The parent side may import the
shared `sandbox` modules and `evaluator.io.archives` (byte units); the child side imports
only the standard library, NumPy, its runtime (onnxruntime or torch) and the child modules
above, because the child's PYTHONPATH is `platform/` alone (tests/sandbox checks what it
loads). This file imports nothing, so `spec` and `pixels` load without the rest.
"""
