"""Accepting a participant's upload and (re)queueing it for scoring.

The row and the file are committed first; the Celery task is sent only from
``transaction.on_commit`` (`challenges.services.dispatch`) so a worker can never pick up a submission that is not in the
database yet (or that a rolled-back request never created).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from sandbox.model_files.bundle import BundleError, check_bundle

from challenges.models import Phase, Submission, Team
from challenges.permissions import is_organiser, user_team
from challenges.services.dispatch import queue_scoring
from challenges.services.quota import daily_quota
from evaluator.results import sha256_file

log = logging.getLogger(__name__)

TEXT_FIELDS = ("method_name", "backbone")
URL_FIELDS = ("paper_url", "code_url")
INT_FIELDS = ("params_total", "params_trainable")
#: Largest parameter count accepted (10**13, some 10x the largest published models): a bound
#: well inside PostgreSQL's bigint, so no declared count can fail to store (issue 9, item 7).
MAX_PARAMETERS = 10**13


class SubmissionRejected(Exception):
    """The upload was refused; the message is shown to the participant as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create_submission(
    phase: Phase, user, uploaded_file: UploadedFile, metadata: dict[str, Any] | None = None
) -> Submission:
    """Store ``uploaded_file`` as a new submission to ``phase`` and queue it for scoring."""
    metadata = dict(metadata or {})
    organiser = is_organiser(user, phase.challenge)
    team = user_team(user, phase.challenge)
    if team is None and not organiser:
        raise SubmissionRejected("Join the challenge (create or join a team) before submitting.")
    if not phase.is_open() and not organiser:
        raise SubmissionRejected("This phase is not open for submissions.")
    kind = str(metadata.pop("kind", "") or Submission.Kind.PREDICTIONS)
    if kind not in Submission.Kind.values:
        raise SubmissionRejected(f"Unknown submission kind {kind!r}.")
    if kind not in phase.allowed_kinds:
        raise SubmissionRejected(
            f"This phase accepts {', '.join(phase.allowed_kinds)} submissions, not {kind}."
        )
    if uploaded_file is None:
        raise SubmissionRejected("No file was uploaded.")
    max_bytes = settings.SUBMISSION_MAX_BYTES
    if uploaded_file.size is not None and uploaded_file.size > max_bytes:
        raise SubmissionRejected(
            f"The file is {uploaded_file.size} bytes; the limit is {max_bytes} bytes."
        )
    if not uploaded_file.size:
        raise SubmissionRejected("The uploaded file is empty.")
    check_upload_type(kind, uploaded_file)
    fields = clean_metadata(metadata)

    uploaded_file.seek(0)
    sha256 = sha256_file(uploaded_file)
    uploaded_file.seek(0)
    name = printable_name(uploaded_file.name or "") or "upload.zip"
    submission = Submission(
        phase=phase,
        creator=user,
        team=team,
        kind=kind,
        original_filename=name[-255:],
        sha256=sha256,
        size_bytes=uploaded_file.size,
        **fields,
    )
    try:
        with transaction.atomic():
            if not organiser:
                # Counted and inserted under one lock, so parallel uploads queue up behind
                # each other instead of all counting the same "1 of 2" (issue 9, item 4).
                _lock_quota_owner(user, team)
                _check_daily_limit(phase, user, team)
            submission.created_at = submission.state_changed_at = timezone.now()
            submission.file.save(name, uploaded_file, save=False)
            submission.save()
            queue_scoring(submission)
    except BaseException:
        # The row was not written: the stored file must not stay behind as an orphan.
        if submission.file.name:
            submission.file.storage.delete(submission.file.name)
        raise
    log.info("Submission %s to phase %s accepted", submission.pk, phase.pk)
    return submission


def _lock_quota_owner(user, team: Team | None) -> None:
    """Row-lock whoever the daily limit counts for: the team (if any), then the user.

    PostgreSQL holds concurrent uploads of the same team at this `SELECT ... FOR UPDATE` until
    the first one commits; SQLite (the embedded default) runs write transactions one at a
    time anyway (`transaction_mode="IMMEDIATE"` in settings), so the count is exact on both.
    """
    if team is not None:
        Team.objects.select_for_update().filter(pk=team.pk).exists()
    # The user model, not type(user): a page's request.user is a lazy wrapper.
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()


def printable_name(name: str) -> str:
    """A file name as the participant can read it and the database can store it: control
    characters (NUL included) and lone surrogates removed, path parts dropped."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(
        ch for ch in name if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF
    ).strip()


def clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Validate the method description; raise SubmissionRejected listing every problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(metadata.get(name) or "").strip()
        if len(value) > 200:
            problems.append(f"{name} is longer than 200 characters.")
        if any(not ch.isprintable() or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            problems.append(f"{name} contains control characters; use plain text.")
        out[name] = value[:200]
    strategy = str(metadata.get("fine_tuning_strategy") or Submission.Strategy.OTHER)
    if strategy not in Submission.Strategy.values:
        problems.append(
            f"fine_tuning_strategy must be one of {', '.join(Submission.Strategy.values)}."
        )
    out["fine_tuning_strategy"] = strategy
    for name in INT_FIELDS:
        raw = metadata.get(name)
        if raw in (None, ""):
            out[name] = None
            continue
        try:
            value = int(str(raw).strip()) if not isinstance(raw, int) else raw
            if not 0 <= value <= MAX_PARAMETERS:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(
                f"{name} must be a whole number of parameters from 0 to {MAX_PARAMETERS:,} "
                "(ten trillion)."
            )
            continue
        out[name] = value
    if (
        out.get("params_total") is not None
        and out.get("params_trainable") is not None
        and out["params_trainable"] > out["params_total"]
    ):
        problems.append("params_trainable cannot exceed params_total.")
    for name in URL_FIELDS:
        value = str(metadata.get(name) or "").strip()
        if value:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                problems.append(f"{name} is not an http(s) URL.")
        out[name] = value
    if problems:
        raise SubmissionRejected(" ".join(problems))
    return out


def _check_daily_limit(phase: Phase, user, team: Team | None) -> None:
    """Refuse when the quota (challenges.services.quota, the one place with the rule) is used."""
    quota = daily_quota(phase, user, team)
    if quota.exhausted:
        raise SubmissionRejected(
            f"Daily limit reached: {phase.daily_limit} submission(s) per 24 hours for this "
            f"phase; the next slot frees at {quota.resets_at:%Y-%m-%d %H:%M} UTC."
        )


def check_upload_type(kind: str, uploaded_file: UploadedFile) -> None:
    """Cheap checks at upload (name, magic bytes, the model bundle's table of contents) so an
    obviously wrong file is refused now rather than after a wait in the inference queue."""
    name = (uploaded_file.name or "").lower()
    if kind == Submission.Kind.CONTAINER:
        if not name.endswith((".tar", ".tar.gz", ".tgz")):
            raise SubmissionRejected(
                "A container submission is an image saved with `docker save` (.tar or .tar.gz)."
            )
        uploaded_file.seek(0)
        head = uploaded_file.read(512)
        uploaded_file.seek(0)
        if not (head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"):
            raise SubmissionRejected(
                "The file is not a tar archive (or a gzip-compressed one); "
                "save the image with `docker save IMAGE -o image.tar`."
            )
    elif kind == Submission.Kind.MODEL:
        try:
            check_bundle(uploaded_file)
        except BundleError as exc:
            raise SubmissionRejected(f"Model submission: {exc}") from None
        finally:
            uploaded_file.seek(0)


def rerun_submission(submission: Submission, reason: str = "Rerun requested.") -> None:
    """Put a submission back in the queue (organisers: after a truth or evaluator change)."""
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(
            status=Submission.Status.QUEUED,
            status_detail=reason,
            failure_code="",
            progress=0.0,
            attempts=0,
            state_changed_at=timezone.now(),
        )
        queue_scoring(submission)


def rerun_phase(phase: Phase) -> int:
    """Rerun every submission of a phase that is not cancelled; returns how many."""
    count = 0
    for submission in phase.submissions.exclude(status=Submission.Status.CANCELLED).only("pk"):
        rerun_submission(submission)
        count += 1
    return count
