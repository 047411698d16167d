"""Loading a phase's hidden truth set from a folder on the server.

The set is converted to (or copied in) the evaluator's canonical layout under
``TRUTH_ROOT/<phase id>/``, outside MEDIA_ROOT and STATIC_ROOT, so no URL can ever reach it.
Only the case list (id, site, spacing) is mirrored into the database.
"""

from __future__ import annotations

import csv
import logging
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from challenges.models import Case, Phase, Site, truth_dir

log = logging.getLogger(__name__)

LAYOUTS = ("canonical", "hc18", "psfhs")
REQUIRED_COLUMNS = ("case", "site", "spacing_row_mm", "spacing_col_mm")


class TruthLoadError(Exception):
    """The folder could not be turned into a truth set; the message says why."""


def load_truth(phase: Phase, source_dir: str | Path, layout: str = "canonical") -> int:
    """Install the truth set in ``source_dir`` for ``phase``; returns the number of cases.

    The previous truth set (if any) is replaced atomically: the new one is built next to it
    and swapped in only once it is complete and valid.
    """
    source = Path(source_dir).expanduser().resolve()
    if layout not in LAYOUTS:
        raise TruthLoadError(f"Unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    if not source.is_dir():
        raise TruthLoadError(f"{source_dir} is not a folder on this server.")
    truth_root = Path(settings.TRUTH_ROOT).resolve()
    truth_root.mkdir(parents=True, exist_ok=True)
    staging = truth_root / f".incoming-{phase.pk}-{uuid.uuid4().hex}"
    try:
        _build_canonical(source, staging, layout)
        rows = _read_cases(staging)
        _check_with_evaluator(staging)
        _swap_in(staging, truth_dir(phase.pk))
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _mirror_cases(phase, rows)
    waiting = _rerun_waiting_for_truth(phase)
    log.info(
        "Loaded truth set for phase %s: %d cases; %d waiting submission(s) requeued",
        phase.pk,
        len(rows),
        waiting,
    )
    return len(rows)


def _build_canonical(source: Path, out: Path, layout: str) -> None:
    if layout == "canonical":
        if not (source / "cases.csv").is_file():
            raise TruthLoadError("The folder has no cases.csv (canonical layout expected).")
        shutil.copytree(source, out)
        return
    try:
        if layout == "hc18":
            from evaluator.importers.hc18 import import_hc18

            import_hc18(source, out, site="hc18", progress=False)
        else:
            from evaluator.importers.psfhs import import_psfhs

            import_psfhs(source, out, site="psfhs", progress=False)
    except (OSError, ValueError, KeyError) as exc:
        raise TruthLoadError(f"Could not import the {layout} release: {exc}") from exc


def _read_cases(root: Path) -> list[dict[str, str]]:
    try:
        with (root / "cases.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TruthLoadError(f"cases.csv lacks the column(s): {', '.join(missing)}.")
            rows = list(reader)
    except FileNotFoundError as exc:
        raise TruthLoadError("The truth set has no cases.csv.") from exc
    if not rows:
        raise TruthLoadError("cases.csv lists no cases.")
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        case = (row.get("case") or "").strip()
        if not case or case in seen:
            raise TruthLoadError(f"cases.csv line {line}: empty or repeated case id {case!r}.")
        seen.add(case)
        try:
            float(row["spacing_row_mm"]), float(row["spacing_col_mm"])
        except (TypeError, ValueError) as exc:
            raise TruthLoadError(f"cases.csv line {line}: spacing is not a number.") from exc
        if not (row.get("site") or "").strip():
            raise TruthLoadError(f"cases.csv line {line}: empty site.")
    return rows


def _check_with_evaluator(root: Path) -> None:
    """Let the evaluator itself load the set, so the worker will not fail on it later."""
    from evaluator.truth import TruthSet

    try:
        TruthSet.load(root)
    except Exception as exc:  # noqa: BLE001 - any failure means an unusable truth set
        message = str(exc).replace(str(root), "<truth set>")
        raise TruthLoadError(f"The evaluator cannot read this truth set: {message}") from exc


def _swap_in(staging: Path, target: Path) -> None:
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


@transaction.atomic
def _mirror_cases(phase: Phase, rows: list[dict[str, str]]) -> None:
    sites = {
        name: Site.objects.get_or_create(challenge_id=phase.challenge_id, name=name)[0]
        for name in sorted({row["site"].strip() for row in rows})
    }
    Case.objects.filter(phase=phase).delete()
    Case.objects.bulk_create(
        Case(
            phase=phase,
            case_id=row["case"].strip(),
            site=sites[row["site"].strip()],
            spacing_row_mm=float(row["spacing_row_mm"]),
            spacing_col_mm=float(row["spacing_col_mm"]),
        )
        for row in rows
    )
    Phase.objects.filter(pk=phase.pk).update(truth_loaded_at=timezone.now())
    phase.truth_loaded_at = timezone.now()


def _rerun_waiting_for_truth(phase: Phase) -> int:
    """Submissions that failed only because no truth set existed get their promised rerun."""
    from challenges.models import Submission
    from challenges.services.pipeline import NO_TRUTH_DETAIL
    from challenges.services.submissions import rerun_submission

    waiting = list(
        Submission.objects.filter(
            phase=phase, status=Submission.Status.FAILED, status_detail=NO_TRUTH_DETAIL
        )
    )
    for submission in waiting:
        rerun_submission(submission, reason="Test set loaded: scoring again.")
    return len(waiting)


def phase_truth_path(phase: Phase) -> Path:
    """The worker-only path to the phase's canonical truth set."""
    return truth_dir(phase.pk)
