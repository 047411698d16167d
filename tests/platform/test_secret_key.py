"""SECRET_KEY never falls back to a key in the source (issue 9, item 8): production mode
without DJANGO_SECRET_KEY refuses to start; the DEBUG demo keeps its own 0600 key in var/."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(args: list[str], env_extra: dict[str, str], var: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(FETALBENCH_VAR=str(var), **env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    done = _manage(["check", "--deploy"], {"DJANGO_DEBUG": "0"}, tmp_path)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_the_published_placeholder(tmp_path: Path) -> None:
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "change-me-in-production"}
    done = _manage(["check"], env, tmp_path)
    assert done.returncode != 0 and "placeholder" in done.stderr


def test_production_with_a_key_starts(tmp_path: Path) -> None:
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "k" * 20 + "-a-real-random-value-0123456789"}
    done = _manage(["check"], env, tmp_path)
    assert done.returncode == 0, done.stderr


def test_debug_demo_keeps_one_private_key_per_var_folder(tmp_path: Path) -> None:
    from config.secret_key import local_key

    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _manage(["shell", "-v", "0", "-c", code], {"DJANGO_DEBUG": "1"}, tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert first.stdout.strip() == key and len(key) >= 50
    assert "dev-only" not in key
    assert local_key(key_file) == key  # kept, not regenerated
    second = _manage(["shell", "-v", "0", "-c", code], {"DJANGO_DEBUG": "1"}, tmp_path)
    assert second.stdout.strip() == key


@pytest.mark.parametrize("debug", [True, False])
def test_environment_key_wins(tmp_path: Path, debug: bool) -> None:
    from config.secret_key import resolve_secret_key

    assert resolve_secret_key("from-env-xyz", debug, tmp_path) == "from-env-xyz"
    assert not (tmp_path / "secret_key").exists()
