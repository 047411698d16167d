"""Sandbox for participants' models: validate, load and run untrusted containers and ONNX files.

Plain Python (no Django): the Celery task `challenges.tasks.run_inference` calls into it on the
`inference` queue. The runner only ever receives a folder of test images plus `inputs.json`
(built by `prepare_input`); hidden labels are never given to it. See docs/model-container.md.

What lives where:
- `backends`: the `Backend` protocol (archive, input_dir, output_dir, `RunLimits` -> `Outcome`)
  and `backend_for(name)` over `container` and `model_file`; the site chooses by name.
- `containers/`: the container wing (`backend`: `run_submission`, `ContainerBackend`; `run`:
  one container run; `images`: archive checks and loading; `outputs`; `reaper`).
- `model_files/`: the model-file wing (`spec`, `pixels`, `bundle`, `runners`, `backend`, the
  launcher `process` and the child side `worker` with its per-runtime `*_worker` and
  `*_runner` modules).
- Shared: `inputs`, `limits`, `outcome`, `log_streams` (a run's log and the excerpt shown).

May import: the standard library, third-party libraries and `sandbox.*`; never Django or the
site (`challenges`, `config`, `web`, `demo`); tests/test_import_cycles.py checks it.
"""
