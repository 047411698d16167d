"""Shared fixtures for the platform tests: real PostgreSQL (pytest-django), real Redis, a real
Celery worker subprocess, and small truth sets / prediction archives built from the real data
in ../shared/data (tests that need it skip with a clear message when it is absent).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CASES_PER_SITE = 10


# --------------------------------------------------------------------------------------------
# Where uploads and truth sets go: one temporary var/ per session, shared with the worker


@pytest.fixture(scope="session")
def platform_var(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fetalbench-var")


@pytest.fixture(scope="session", autouse=True)
def _private_roots(platform_var: Path) -> Iterator[None]:
    """Point MEDIA_ROOT/TRUTH_ROOT at the session folder (the worker gets FETALBENCH_VAR)."""
    from django.conf import settings

    old = settings.MEDIA_ROOT, settings.TRUTH_ROOT, settings.PASSWORD_HASHERS
    settings.MEDIA_ROOT = platform_var / "media"
    settings.TRUTH_ROOT = platform_var / "truth"
    # Tests create dozens of users: a fast hasher keeps them from dominating the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    settings.MEDIA_ROOT, settings.TRUTH_ROOT, settings.PASSWORD_HASHERS = old


# --------------------------------------------------------------------------------------------
# Truth sets and predictions


def require_data() -> None:
    if not (DATA / "hc18" / "training_set").is_dir() or not (DATA / "psfhs" / "label_mha").is_dir():
        pytest.skip(f"real data not found at {DATA} (see /work/shared/data/README.md)")


def build_two_site_truth(out: Path, per_site: int = CASES_PER_SITE) -> Path:
    """A binary 'head' truth set: HC18 images (site hc18) + PSFHS fetal heads (site psfhs)."""
    import cv2
    import SimpleITK as sitk

    from evaluator.importers.hc18 import filled_head, read_release_csv
    from evaluator.truth import write_truth_set

    require_data()
    hc18 = DATA / "hc18"
    rows = read_release_csv(hc18 / "training_set_pixel_size_and_HC.csv")[:per_site]
    cases = []
    for row in rows:
        outline = cv2.imread(
            str(hc18 / "training_set" / row.filename.replace(".png", "_Annotation.png")),
            cv2.IMREAD_GRAYSCALE,
        )
        mask, _ = filled_head(outline, row.pixel_size_mm)
        spacing = (row.pixel_size_mm, row.pixel_size_mm)
        cases.append((Path(row.filename).stem, "hc18", spacing, mask, {"hc_mm": row.hc_mm}))
    for path in sorted((DATA / "psfhs" / "label_mha").glob("*.mha"))[:per_site]:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(path))).squeeze()
        head = (label == 2).astype(np.uint8)
        cases.append((path.stem, "psfhs", (1.0, 1.0), head, {}))
    write_truth_set(out, cases)
    return out


@pytest.fixture(scope="session")
def two_site_truth(tmp_path_factory) -> Path:
    return build_two_site_truth(tmp_path_factory.mktemp("truth-source") / "head")


def _png(mask: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", mask.astype(np.uint8))
    assert ok
    return data.tobytes()


def make_predictions_zip(
    truth: Path,
    out: Path,
    *,
    shift: int = 3,
    drop: int = 0,
    extra: bool = False,
    wrong_size: int = 0,
) -> Path:
    """Perturbed predictions: each truth mask shifted by ``shift`` (+ case index % 3) pixels.

    ``drop`` leaves out the first cases, ``extra`` adds a file for an unknown case and
    ``wrong_size`` writes that many cases at the wrong size: all make an invalid submission.
    """
    from evaluator.io.masks import read_label_map
    from evaluator.truth import TruthSet

    truth_set = TruthSet.load(truth)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, case in enumerate(truth_set.cases):
            if index < drop:
                continue
            label = read_label_map(Path(case.label_path))
            mask = np.roll(label, shift + index % 3, axis=1)
            if index >= drop and index < drop + wrong_size:
                mask = mask[:-7, :]
            archive.writestr(f"predictions/{case.case}.png", _png(mask))
        if extra:
            archive.writestr("predictions/not_a_case_999.png", _png(np.zeros((8, 8), np.uint8)))
    return out


# --------------------------------------------------------------------------------------------
# Domain objects


@pytest.fixture
def make_user(django_user_model) -> Callable:
    def make(username: str, password: str = "pw-secret-123", **extra):
        return django_user_model.objects.create_user(username, password=password, **extra)

    return make


@pytest.fixture
def make_challenge(make_user) -> Callable:
    """A challenge (task hc18, binary head) with one open phase; returns (challenge, phase)."""

    def make(slug: str = "fetal-head", organiser=None, **phase_fields):
        from challenges.models import Challenge, Phase

        challenge = Challenge.objects.create(slug=slug, title=slug.title(), task_name="hc18")
        challenge.organisers.add(organiser or make_user(f"{slug}-organiser"))
        phase = Phase.objects.create(
            challenge=challenge, slug="test", title="Test phase", **phase_fields
        )
        return challenge, phase

    return make


# --------------------------------------------------------------------------------------------
# A real Celery worker against Redis and the pytest-django test database


def _purge_queues() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in ("scoring", "inference"):
            # A queue that does not exist yet is empty.
            with contextlib.suppress(Exception):
                channel.queue_purge(queue)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, platform_var: Path) -> Iterator[Path]:
    """Start `celery -A config worker` on the test database; yields its log file."""
    from django.db import connection

    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: the worker tests need the real Redis")
    db = connection.settings_dict
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["FETALBENCH_VAR"] = str(platform_var)
    env["FETALBENCH_SCORING_WORKERS"] = "2"
    _purge_queues()
    log_path = platform_var / "worker.log"
    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [celery, "-A", "config", "worker", "-Q", "scoring,inference", "--pool=solo"]
            + ["-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT / "platform",
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_status(submission_id: int, timeout: float = 120.0) -> object:
    """Poll the database until the submission is finished; returns the fresh row."""
    from challenges.models import Submission

    deadline = time.monotonic() + timeout
    while True:
        submission = Submission.objects.get(pk=submission_id)
        if submission.status in Submission.FINISHED:
            return submission
        if time.monotonic() > deadline:
            raise AssertionError(
                f"submission {submission_id} still {submission.status} after {timeout}s"
            )
        time.sleep(0.25)


def upload(path: Path, name: str | None = None):
    """A Django uploaded file from a path (for calling services directly)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name or path.name, path.read_bytes(), "application/zip")


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
