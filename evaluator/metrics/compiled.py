"""The one way this package compiles its kernels: numba, cached on disk where possible.

Caching saves the several seconds a first compilation takes in every new process. numba
stores the cache next to the source or, where that folder is read-only, in the user's cache
directory (``NUMBA_CACHE_DIR`` overrides both). Where neither is writable numba refuses
``cache=True`` outright; the kernels are then compiled in each process instead of failing the
import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from numba import njit

F = TypeVar("F", bound=Callable)


def kernel(function: F) -> F:
    """``numba.njit(cache=True, nogil=True)``, without the cache when nowhere can hold it."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)
