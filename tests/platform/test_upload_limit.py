"""Uploads over SUBMISSION_MAX_BYTES are refused with 413 before the body is read (issue 9,
item 16), on the API, on the web form and through the command-line client."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from hardening.upload_limit import UploadLimitMiddleware, human_bytes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "size, words",
    [(1024**3, "1 GiB"), (1536 * 1024**2, "1.5 GiB"), (5 * 1024**2, "5 MiB"),
     (2048, "2 KiB"), (1000, "1000 bytes"), (1, "1 byte")],
)  # fmt: skip
def test_human_bytes(size: int, words: str) -> None:
    assert human_bytes(size) == words


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):  # noqa: ARG002
        raise AssertionError("the body was read")

    readinto = read


def test_content_length_over_the_limit_is_refused_unread(settings) -> None:
    settings.SUBMISSION_MAX_BYTES = 10 * 1024**2
    request = RequestFactory().post(
        "/api/submissions/", data=b"", content_type="multipart/form-data; boundary=x"
    )
    request.META["CONTENT_LENGTH"] = str(11 * 1024**2 + 2 * 1024**2)
    request.META["wsgi.input"] = _Unreadable()
    middleware = UploadLimitMiddleware(lambda r: pytest.fail("the view ran"))
    response = middleware(request)
    assert response.status_code == 413
    assert "10 MiB" in response.content.decode()


@pytest.mark.django_db
def test_api_upload_over_the_limit_is_413_with_the_limit_in_words(
    client, make_challenge, make_user, settings
) -> None:
    settings.SUBMISSION_MAX_BYTES = 1024
    _, phase = make_challenge()
    make_user("ann")
    client.login(username="ann", password="pw-secret-123")
    big = SimpleUploadedFile("p.zip", b"P" * 5000, "application/zip")
    response = client.post("/api/submissions/", {"phase": phase.pk, "file": big})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "1 KiB" in detail and "limit" in detail
    web = client.post(
        f"/phases/{phase.pk}/submit/",
        {"file": SimpleUploadedFile("p.zip", b"P" * 5000), "method_name": "m"},
    )
    assert web.status_code == 413 and b"1 KiB" in web.content


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fetalbench", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_live_server_and_cli_show_the_limit(
    live_server, make_challenge, make_user, settings, tmp_path
) -> None:
    settings.SUBMISSION_MAX_BYTES = 2 * 1024
    _, phase = make_challenge()
    make_user("ann")
    token = requests.post(
        f"{live_server.url}/api/token/", data={"username": "ann", "password": "pw-secret-123"},
        timeout=30,
    ).json()["token"]  # fmt: skip
    archive = tmp_path / "big.zip"
    archive.write_bytes(os.urandom(64 * 1024))
    with archive.open("rb") as handle:
        raw = requests.post(
            f"{live_server.url}/api/submissions/", headers={"Authorization": f"Token {token}"},
            data={"phase": phase.pk}, files={"file": handle}, timeout=30,
        )  # fmt: skip
    assert raw.status_code == 413 and "2 KiB" in raw.json()["detail"]
    env = dict(os.environ, FETALBENCH_URL=live_server.url, FETALBENCH_TOKEN=token,
               FETALBENCH_CONFIG=str(tmp_path / "cfg.json"), PYTHONPATH=str(ROOT))  # fmt: skip
    done = _cli("submit", "--phase", str(phase.pk), str(archive), "--method", "m", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2 KiB" in done.stderr and "Traceback" not in done.stderr
