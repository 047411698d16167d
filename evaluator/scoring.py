"""Scoring a whole submission: the public API (`validate_submission`, `score_submission`).

The task names its scorer (evaluator.scorers); the scorer does the work. Speed matters because
the platform scores every upload of every team: see evaluator.scorers.standard for how
segmentation cases are decoded once and scored across the process pool (evaluator.parallel).
A submission with any problem is rejected as a whole (`InvalidSubmission`) with every problem
listed, so a participant fixes everything in one go and no partial leaderboard entry exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from evaluator.errors import InvalidSubmission, TruthError
from evaluator.parallel import ProgressCallback, shutdown_pools
from evaluator.results import build_results
from evaluator.scorers.registry import get_scorer
from evaluator.scorers.standard import BIOMETRY, CaseArrays
from evaluator.tasks import Task, get_task
from evaluator.validation import ValidationReport


def score_arrays(
    task: Task,
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: tuple[float, float],
    extra: dict[str, str] | None = None,
    predicted_measurements: dict[str, float] | None = None,
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """One case's {group: {metric: value}} and flags for decoded label maps, by the task's
    scorer (see `evaluator.scorers.standard.CaseArrays` for the arguments and
    `standard_case_metrics` for the standard scorer)."""
    case = CaseArrays(pred, ref, spacing, extra or {}, predicted_measurements)
    return get_scorer(task.scorer).case_metrics(task, case)


def validate_submission(task: Task | str, truth_root: Path, predictions: Path) -> ValidationReport:
    """Every problem of a submission (discovery, decoding, values, shapes) without scoring."""
    task = get_task(task)
    return get_scorer(task.scorer).validate(task, Path(truth_root), Path(predictions))


def score_submission(
    task: Task | str,
    truth_root: Path,
    predictions: Path,
    *,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    n_bootstrap: int = 1000,
) -> dict[str, Any]:
    """Score a submission (folder or archive) against a truth set; see docs/results-schema.md.

    `workers` is the number of processes in all (default: one per CPU): this one, plus
    `workers - 1` pool processes that live on for later submissions. Raises
    InvalidSubmission (with every problem) when any case cannot be scored.
    """
    task = get_task(task)
    return get_scorer(task.scorer).score(
        task,
        Path(truth_root),
        Path(predictions),
        workers=workers,
        progress=progress,
        n_bootstrap=n_bootstrap,
    )


__all__ = [
    "BIOMETRY",
    "InvalidSubmission",
    "TruthError",
    "build_results",
    "score_arrays",
    "score_submission",
    "shutdown_pools",
    "validate_submission",
]
