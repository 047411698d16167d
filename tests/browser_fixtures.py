"""Browser fixtures shared by every browser test (a pytest plugin, registered in tests/conftest.py).

Debian's Chromium driven by PyPI's Playwright, never `playwright install`; the flags keep it
from reaching the network or updating itself, so nothing loads from a CDN.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Debian's chromium package.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Where browser tests leave their screenshots for a person to look at.
SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium for one test; skipped where Chromium or Playwright is missing."""
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made meanwhile
    # are ordinary blocking calls, which Django only allows with this switch.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
