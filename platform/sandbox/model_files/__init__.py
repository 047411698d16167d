"""The model-file wing of the sandbox: a zip holding one network (ONNX, TorchScript or pt2) and
its JSON spec, checked at upload and run in a limited child process.

- `spec`: `ModelSpec`, the one spec contract (stdlib only; `reference_models` writes specs
  with it, the reference container carries a copy).
- `pixels`: the one pixel pipeline (image -> input tensor, labels -> mask), numpy at import.
- `bundle`: the upload format (table of contents, spec and magic bytes; never loads the network).
- `runners`: which sandboxed runner takes which format (`run_model_file`).

Plain Python like the rest of `sandbox/`: it may import `sandbox.*` and third-party
libraries, never Django or `challenges` (tests/test_import_cycles.py). This file imports
nothing, so that `spec` and `pixels` load without the runners (the child process imports
`spec` while `sandbox.model_files.process` is still loading).
"""
