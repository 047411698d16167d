"""Loading a phase's hidden truth set from a folder on the server.

The set is converted to (or copied in) the evaluator's canonical layout under
``TRUTH_ROOT/<phase id>/``, outside MEDIA_ROOT and STATIC_ROOT, so no URL can ever reach it.
Only the case list (id, site, spacing) is mirrored into the database.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from challenges.models import Case, LeaderboardEntry, Phase, Site, Submission, truth_dir
from challenges.services.submissions import rerun_submission
from evaluator.importers.common import ImporterError
from evaluator.importers.hc18 import CSV_NAME, import_hc18
from evaluator.importers.psfhs import import_psfhs
from evaluator.importers.sites import relabel_sites, site_mapping
from evaluator.scorers.classification import check_classification_truth
from evaluator.tasks import CLASSIFICATION
from evaluator.truth import TruthSet, read_cases_csv, truth_version

log = logging.getLogger(__name__)

LAYOUTS = ("canonical", "hc18", "psfhs")


class TruthLoadError(Exception):
    """The folder could not be turned into a truth set; the message says why."""


def load_truth(
    phase: Phase,
    source_dir: str | Path,
    layout: str = "canonical",
    site_map: str | Path | None = None,
    site_column: str | None = None,
) -> int:
    """Install the truth set in ``source_dir`` for ``phase``; returns the number of cases.

    The previous truth set (if any) is replaced atomically: the new one is built next to it
    and swapped in only once it is complete and valid. ``site_map`` (a CSV on the server with
    case and site columns) or ``site_column`` (a column of the HC18 release table) gives each
    case its site. The phase records the new set's content version; sites left without cases
    disappear, with their leaderboard rows.
    """
    source = Path(source_dir).expanduser().resolve()
    if layout not in LAYOUTS:
        raise TruthLoadError(f"Unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    if not source.is_dir():
        raise TruthLoadError(f"{source_dir} is not a folder on this server.")
    classes = _classification_classes(phase)
    truth_root = Path(settings.TRUTH_ROOT).resolve()
    truth_root.mkdir(parents=True, exist_ok=True)
    staging = truth_root / f".incoming-{phase.pk}-{uuid.uuid4().hex}"
    try:
        sites = _site_mapping(source, layout, site_map, site_column)
        _build_canonical(source, staging, layout, sites)
        rows = _read_cases(staging, classes)
        version = truth_version(staging)
        _swap_in(staging, truth_dir(phase.pk))
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    removed = _mirror_cases(phase, rows, version)
    waiting = _rerun_waiting_for_truth(phase)
    log.info(
        "Loaded truth set %s for phase %s: %d cases; %d empty site(s) removed; "
        "%d waiting submission(s) requeued",
        version[:12],
        phase.pk,
        len(rows),
        removed,
        waiting,
    )
    return len(rows)


def _classification_classes(phase: Phase) -> list[str] | None:
    """The class names of a classification task (whose truth is cases.csv alone), else None."""
    try:
        task = phase.challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task is reported when scoring
        return None
    return list(task.class_names) if task.kind == CLASSIFICATION else None


def _site_mapping(
    source: Path, layout: str, site_map: str | Path | None, site_column: str | None
) -> dict[str, str] | None:
    map_file = Path(site_map).expanduser() if site_map else None
    if map_file is not None and not map_file.is_file():
        raise TruthLoadError(f"The site mapping {site_map} is not a file on this server.")
    table = source / CSV_NAME if layout == "hc18" else None
    if layout == "canonical" and site_column and not map_file:
        raise TruthLoadError(
            "A canonical truth set takes its sites from cases.csv; give a site mapping CSV "
            "to replace them."
        )
    try:
        return site_mapping(map_file, site_column or None, table)
    except ImporterError as exc:
        raise TruthLoadError(f"Site mapping: {exc}") from exc


def _build_canonical(
    source: Path, out: Path, layout: str, sites: dict[str, str] | None = None
) -> None:
    try:
        if layout == "canonical":
            if not (source / "cases.csv").is_file():
                raise TruthLoadError("The folder has no cases.csv (canonical layout expected).")
            shutil.copytree(source, out)
            if sites is not None:
                relabel_sites(out, sites)
        elif layout == "hc18":
            import_hc18(source, out, site="hc18", progress=False, sites=sites)
        else:
            import_psfhs(source, out, site="psfhs", progress=False, sites=sites)
    except ImporterError as exc:
        raise TruthLoadError(f"Could not import the {layout} release: {exc}") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise TruthLoadError(f"Could not import the {layout} release: {exc}") from exc


def _read_cases(root: Path, classes: list[str] | None) -> list[dict[str, str]]:
    """cases.csv's rows (by column, values stripped), once the evaluator itself has loaded
    the set, so the worker will not fail on it later: as a classification set (cases.csv
    with a class column, no label images) when `classes`, else with its labels and spacing.
    Every check is the evaluator's, read by its one cases.csv reader."""
    try:
        if classes is not None:
            check_classification_truth(root, classes)
        else:
            TruthSet.load(root)
        return [row.values for row in read_cases_csv(root, required=())]
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
def _mirror_cases(phase: Phase, rows: list[dict[str, str]], version: str) -> int:
    """Case rows (and the phase's truth version) from cases.csv; returns how many sites of
    the previous set were removed because no phase has cases there any more."""
    previous = set(Case.objects.filter(phase=phase).values_list("site_id", flat=True))
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
            spacing_row_mm=_spacing(row, "spacing_row_mm"),
            spacing_col_mm=_spacing(row, "spacing_col_mm"),
        )
        for row in rows
    )
    kept = {site.pk for site in sites.values()}
    # This phase's board rows for sites it no longer has; the sites themselves go when no
    # phase of the challenge has cases there (their other rows go with them, by cascade).
    LeaderboardEntry.objects.filter(phase=phase, site__isnull=False).exclude(
        site_id__in=kept
    ).delete()
    empty = list(
        Site.objects.filter(pk__in=previous - kept, cases__isnull=True).values_list("pk", flat=True)
    )
    Site.objects.filter(pk__in=empty).delete()
    now = timezone.now()
    Phase.objects.filter(pk=phase.pk).update(truth_loaded_at=now, truth_version=version)
    phase.truth_loaded_at, phase.truth_version = now, version
    return len(empty)


def _spacing(row: dict[str, str], column: str) -> float | None:
    value = (row.get(column) or "").strip()
    return float(value) if value else None


def _rerun_waiting_for_truth(phase: Phase) -> int:
    """Submissions that failed only because no truth set existed get their promised rerun."""
    waiting = list(
        Submission.objects.filter(
            phase=phase,
            status=Submission.Status.FAILED,
            failure_code=Submission.FailureCode.NO_TRUTH,
        )
    )
    for submission in waiting:
        rerun_submission(submission, reason="Test set loaded: scoring again.")
    return len(waiting)


def phase_truth_path(phase: Phase) -> Path:
    """The worker-only path to the phase's canonical truth set."""
    return truth_dir(phase.pk)
