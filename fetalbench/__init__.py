"""Command-line client for a fetalbench server: `python -m fetalbench --help`.

Deliberately free of Django and of the evaluator so that participants can install just
`requests` and `tqdm` and submit from a training machine.
"""

__version__ = "0.1.0"
