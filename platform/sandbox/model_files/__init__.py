"""The model-file wing of the sandbox: a zip holding one network (ONNX, TorchScript or pt2) and
its JSON spec, checked at upload and run in a limited child process.

- `bundle`: the upload format (table of contents, spec and magic bytes; never loads the network).
- `runners`: which sandboxed runner takes which format (`run_model_file`).

Plain Python like the rest of `sandbox/`: it may import `sandbox.*` and third-party
libraries, never Django or `challenges` (tests/test_import_cycles.py).
"""

from sandbox.model_files.runners import RUNNERS, Runner, run_model_file

__all__ = ["RUNNERS", "Runner", "run_model_file"]
