"""Entry point for `python -m evaluator` (see evaluator/cli.py)."""

import sys

from evaluator.cli import main

if __name__ == "__main__":
    sys.exit(main())
