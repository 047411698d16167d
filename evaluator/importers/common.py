"""Shared helpers for the public-dataset importers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class ImporterError(ValueError):
    """A release folder that does not look like the dataset's own layout; message for humans."""


def progress_bar(items: Iterable[T], total: int, desc: str, enabled: bool) -> Iterator[T]:
    """A tqdm progress bar when enabled (interactive imports), a plain iterator otherwise."""
    if not enabled:
        yield from items
        return
    yield from tqdm(items, total=total, desc=desc, unit="case")
