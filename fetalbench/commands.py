"""How the project's command-line programs end, so `fetalbench` and `python -m
reference_models` answer alike: an error the user can fix is one line on stderr with exit
status 2, Ctrl-C is `interrupted` with 130, and anything else is a bug that keeps its stack
trace. Standard library only: `reference_models` uses it without the HTTP client installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: Exit statuses: a fixable error, and an interrupted command (128 + SIGINT).
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def run_command(
    command: Callable[[], int | None], *, expected: tuple[type[BaseException], ...]
) -> int:
    """`command()`'s exit status (None is 0); an `expected` error prints `error: <message>`."""
    try:
        return int(command() or 0)
    except expected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
