"""The container wing of the sandbox: a participant's `docker save` archive, checked, loaded
and run with no network under `SandboxLimits`.

- `backend`: `run_submission` (archive in, `Outcome` out: validate, load, run, clean up),
  `docker_client` and `ContainerBackend`, the `container` backend of `sandbox.backends`.
- `images`: the archive check (read as a stream, never extracted) and loading it into the
  daemon once per digest.
- `run`: one container run under limits (`run_container`), its log tail and its outcome.
- `outputs`: the size-capped /output folder of a run.
- `reaper`: removes what crashed workers left behind (Celery beat).

May import the standard library, the Docker SDK (inside functions: the web and scoring
processes never need it), the shared `sandbox` modules (`limits`, `outcome`, `log_streams`),
`evaluator.io.archives` (byte units, `CountingReader`) and its own modules; never
`sandbox.model_files` (tests/sandbox/test_sandbox_layout.py), Django or the site
(tests/test_import_cycles.py).
"""
