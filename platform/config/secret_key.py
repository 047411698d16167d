"""Where SECRET_KEY comes from: the environment, or (outside production) a key kept under var/.

Django signs sessions, password-reset tokens and CSRF tokens with SECRET_KEY, so a key that
is in the source lets anyone forge them (Django docs, "Deployment checklist": SECRET_KEY
"must be kept secret"; OWASP ASVS V2.10 "no secrets in source code"). Production
(`DJANGO_DEBUG=0` set explicitly, as docker-compose does) therefore refuses to start without
DJANGO_SECRET_KEY, instead of falling back to a key anybody can read. Otherwise (the embedded
demo `run.sh`, tests, `DJANGO_DEBUG=1`) one random key per var folder is kept, created once
with mode 0600, so sessions survive restarts and the web process and the Celery workers that
share var/ agree on it. DEBUG itself is off unless DJANGO_DEBUG=1 (settings.py).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

#: Keys this repository has shipped as defaults: never accepted in production.
KNOWN_PUBLIC_KEYS = frozenset({"dev-only-insecure-key-change-me", "change-me-in-production"})
KEY_FILE_NAME = "secret_key"

MISSING_KEY_MESSAGE = (
    "DJANGO_SECRET_KEY is not set and DJANGO_DEBUG=0: refusing to start with a key that is in "
    "the source. Set DJANGO_SECRET_KEY to a long random value, e.g. "
    '`python -c "import secrets; print(secrets.token_urlsafe(50))"` '
    "(or leave DJANGO_DEBUG unset for a local demo, which keeps its own key under var/)."
)


def allows_local_key(environ: Mapping[str, str]) -> bool:
    """Whether a key kept under var/ may stand in for DJANGO_SECRET_KEY: everywhere except
    production, which says so with DJANGO_DEBUG=0 (docker-compose sets it)."""
    return environ.get("DJANGO_DEBUG", "").strip() != "0"


def resolve_secret_key(env_value: str | None, debug: bool, var_dir: Path) -> str:
    """The key to use: `env_value` when set; otherwise a per-var-folder key when `debug`
    (a local key is allowed, see `allows_local_key`), and ImproperlyConfigured in production."""
    value = (env_value or "").strip()
    if value:
        if not debug and value in KNOWN_PUBLIC_KEYS:
            raise ImproperlyConfigured(
                f"DJANGO_SECRET_KEY is {value!r}, a placeholder published in this repository. "
                + MISSING_KEY_MESSAGE.split(": ", 1)[1]
            )
        return value
    if not debug:
        raise ImproperlyConfigured(MISSING_KEY_MESSAGE)
    return local_key(var_dir / KEY_FILE_NAME)


def local_key(path: Path) -> str:
    """Read the key at `path`, creating it (mode 0600) if absent.

    Creation is atomic (write a private temporary file, then hard-link it into place, which
    fails if another process won the race), so a web process and a worker starting together
    still end up with the same key.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        with contextlib.suppress(FileExistsError):  # another process won: use its key
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ImproperlyConfigured(f"{path} is empty: delete it to get a new key")
    return key
