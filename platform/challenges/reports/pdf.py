"""The report as PDF, printed by headless Chromium (Debian's ``chromium``) when it is there.

Chromium is what the browser tests already use (``scripts/setup.sh`` installs it) and prints
the same HTML and SVG a browser shows, so the PDF needs no second renderer and no new Python
dependency. Where it is missing (e.g. the slim container image) ``html_to_pdf`` raises
``PdfUnavailable`` and the site offers the HTML report alone, which always works.

The document printed is the report the platform itself rendered (escaped, no script, its own
Content-Security-Policy ``default-src 'none'``, which blocks any script and any fetch);
Chromium runs from a temporary profile and file that are removed afterwards. (Chromium's
``--blink-settings=scriptEnabled=false`` would be a second lock, but with it Chromium 156
prints nothing.)
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

#: Where to look for Chromium, in order (settings.REPORT_CHROMIUM, from ``FETALBENCH_CHROMIUM``,
#: first when set).
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds a print may take.
TIMEOUT = 60


class PdfUnavailable(RuntimeError):
    """No PDF can be made here (no Chromium, or it failed); the message says why."""


def chromium_path() -> str | None:
    """The Chromium binary to print with, or None."""
    configured = settings.REPORT_CHROMIUM
    if configured:
        return configured if Path(configured).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def pdf_available() -> bool:
    return chromium_path() is not None


def html_to_pdf(html: str, timeout: float = TIMEOUT) -> bytes:
    """Print ``html`` (a whole self-contained document) to PDF bytes."""
    binary = chromium_path()
    if binary is None:
        raise PdfUnavailable("no Chromium found to print with (install Debian's chromium)")
    with tempfile.TemporaryDirectory(prefix="fetalbench-report-") as folder:
        source = Path(folder) / "report.html"
        target = Path(folder) / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={Path(folder) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, timeout=timeout, check=False, cwd=folder
            )
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(
                f"Chromium did not finish printing within {timeout:.0f} s"
            ) from None
        except OSError as exc:
            raise PdfUnavailable(f"Chromium could not be started: {exc}") from None
        if not target.is_file() or target.stat().st_size == 0:
            tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise PdfUnavailable(
                f"Chromium printed nothing (exit {result.returncode}): {' | '.join(tail)}"
            )
        return target.read_bytes()
