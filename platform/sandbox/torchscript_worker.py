"""Entry point of the TorchScript child process: `python -m sandbox.torchscript_worker JOB.json`.

A module of its own (not imported by the package) so that `-m` runs it cleanly; the work is
in `sandbox.torchscript_runner._worker_main`.
"""

import sys

from sandbox.torchscript_runner import _worker_main

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m sandbox.torchscript_worker JOB.json (internal)", file=sys.stderr)
        sys.exit(64)
    sys.exit(_worker_main(sys.argv[1]))
