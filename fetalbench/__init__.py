"""Command-line client for a fetalbench server: `python -m fetalbench --help`.

Deliberately free of Django and of the evaluator so that participants can install just
`requests` and `tqdm` and submit from a training machine.

- `api`: `Client` (every HTTP call, `wait_for_submission`), the stored login, `ApiError`.
- `upload`: the streamed multipart body of a submission.
- `report`: plain-text views of a submission's scores, measured size and quota.
- `commands`: how a command line ends (error: one line, exit 2; Ctrl-C 130), standard
  library only; `python -m reference_models` ends the same way through it.
- `cli`: `python -m fetalbench`; sits on top of the others.

May import: the standard library, `requests` and `tqdm`; nothing of `evaluator`, `platform/`
or `reference_models`.
"""

__version__ = "0.1.0"
