"""Sandbox for participants' models: check, load and run untrusted containers and model files.

Plain Python (no Django): the Celery task `challenges.tasks.run_inference` calls into it on the
`inference` queue, through `challenges.services.inference`. A run only ever receives a folder
of test images plus `inputs.json` (built by `inputs.prepare_input`); hidden labels are never
given to it. See docs/model-container.md.

What lives where: one wing per backend, and the pieces both share at the top.
- `backends`: the `Backend` protocol (archive, input_dir, output_dir, `RunLimits` -> `Outcome`)
  and `backend_for(name)` over `container` and `model_file`; the site chooses by name.
- `containers/`: a `docker save` archive (`backend`: `run_submission`, `ContainerBackend`;
  `images`: the archive check and loading; `run`: one container run; `outputs`: the capped
  /output; `reaper`: what crashed workers left).
- `model_files/`: a zip of one ONNX, TorchScript or pt2 network and its spec (`bundle`,
  `spec`, `pixels`, `backend`: `ModelFileBackend`; `process`: `run_model_file(fmt, ...)`, the
  launcher; `worker` and the per-format `*_worker` modules: the limited child process).
- Shared: `inputs` (the /input folder), `limits` (`RunLimits`, `SandboxLimits`,
  `ArchiveLimits`), `outcome` (`Outcome`, `Status`, `BackendUnavailable`), `log_streams` (a
  container's stdout/stderr in order, and the excerpt a participant is shown).

May import: the standard library, third-party libraries, `sandbox.*` and the evaluator's
pure helpers (`evaluator.io.archives`: byte units, `CountingReader`); never Django or the site
(`challenges`, `config`, `web`, `demo`; tests/test_import_cycles.py checks it). The two wings
never import each other; the shared modules import neither wing (only `backends` sees both).
The model-file child imports less still (see `model_files`). This file imports nothing, so
that loading one wing never loads the other.
"""
