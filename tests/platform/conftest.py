"""Shared fixtures for the platform tests: real PostgreSQL (pytest-django), real Redis, a real
Celery worker subprocess (`celery_worker`, in tests/conftest.py), and small truth sets /
prediction archives built from the real data in ../shared/data (tests that need it skip with a
clear message when it is absent).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CASES_PER_SITE = 10


# --------------------------------------------------------------------------------------------
# Where uploads and truth sets go: the session's var folder (tests/conftest.py), shared with
# the worker


@pytest.fixture(scope="session", autouse=True)
def _private_roots(private_roots: Path) -> Path:
    """Every platform test stores uploads and truth sets where the session's worker looks."""
    return private_roots


@pytest.fixture(autouse=True)
def _fresh_cache(settings, request) -> None:
    """Each test gets an empty in-process cache: log-in failure counters and DRF throttle
    counts (kept in Django's cache, config/caches.py) must not carry over from one test, or
    one run, to the next. Clearing the real cache is no option: with REDIS_URL it shares the
    Redis database with the Celery broker."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{request.node.nodeid}",
        }
    }


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
# Waiting for the worker (the worker itself, `celery_worker`, and the domain-object fixtures
# `make_user` / `make_challenge` are in tests/conftest.py, shared with tests/reference_models)


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
