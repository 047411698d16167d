"""The scorer registry: names, the interface every scorer implements, and lazy loading.

Entries are dotted paths (as segmentation_models_pytorch lists its encoders), so importing
this module, which `evaluator.tasks` does, costs nothing; `get_scorer` imports a scorer's
module on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from evaluator.parallel import ProgressCallback
    from evaluator.validation import ValidationReport

SEGMENTATION = "segmentation"
CLASSIFICATION = "classification"
KINDS = (SEGMENTATION, CLASSIFICATION)

#: Every scorer: name -> "module:attribute" of its `Scorer` instance.
SCORERS: dict[str, str] = {
    "standard": "evaluator.scorers.standard:SCORER",
    "psfhs2023": "evaluator.scorers.psfhs2023:SCORER",
    "classification": "evaluator.scorers.classification:SCORER",
}


class TaskClassSpec(Protocol):
    name: str
    value: int


class TaskSpec(Protocol):
    """What a scorer reads of a task (evaluator.tasks.Task has it; scorers never import it)."""

    name: str
    kind: str
    classes: Sequence[TaskClassSpec]
    metrics: Sequence[str]
    biometry: Mapping[str, str]
    #: NSD's tolerance and Boundary IoU's band width (mm), read when `metrics` lists them.
    nsd_tolerance_mm: float
    boundary_iou_distance_mm: float

    @property
    def binary(self) -> bool: ...

    @property
    def class_names(self) -> list[str]: ...


class Scorer:
    """One way of scoring a submission. Subclasses set the class attributes and implement
    `validate` and `score`; the defaults suit a scorer whose results carry each listed metric
    for each class."""

    #: The name a task's "scorer" field gives.
    name: str = ""
    #: The task kind it scores (SEGMENTATION or CLASSIFICATION).
    kind: str = SEGMENTATION
    #: What a task may list in "metrics" (the default list, in order), with the direction
    #: of each: True higher is better, False lower is better, None a measurement with no
    #: better side (a value or a signed difference; boards sort those ascending). Read
    #: through `evaluator.metric_spec.MetricSpec`.
    metrics: Mapping[str, bool | None] = {}
    #: Metrics a task may also list, with their directions, that are not in the default list
    #: (they cost more per case, so a task that does not ask for them does not pay for them).
    optional_metrics: Mapping[str, bool | None] = {}
    #: Other metric names its results carry, with their directions.
    extra_metrics: Mapping[str, bool | None] = {}
    #: Measurements a task may ask of a class (its "biometry"): key -> human name.
    measurements: Mapping[str, str] = {}
    #: The unit of its distance metrics (hd, hd95, asd, ...), as a header shows it.
    distance_unit: str = "mm"

    def directions(self) -> dict[str, bool | None]:
        """Every metric name its results may carry (after the group), with its direction."""
        return {**self.metrics, **self.optional_metrics, **self.extra_metrics}

    def allowed_metrics(self) -> tuple[str, ...]:
        """What a task may list in "metrics": the default list, then the optional ones."""
        return (*self.metrics, *self.optional_metrics)

    def check(self, task: TaskSpec) -> str | None:
        """What is wrong with a task for this scorer beyond the generic checks, or None."""
        return None

    def metric_paths(self, task: TaskSpec) -> list[str]:
        """Every "group.metric" path the task's results carry (what ranking may refer to)."""
        return [f"{c}.{m}" for c in task.class_names for m in task.metrics]

    def validate(self, task: TaskSpec, truth_root: Path, predictions: Path) -> ValidationReport:
        """Every problem of a submission without scoring it."""
        raise NotImplementedError

    def score(
        self,
        task: TaskSpec,
        truth_root: Path,
        predictions: Path,
        *,
        workers: int | None,
        progress: ProgressCallback | None,
        n_bootstrap: int,
    ) -> dict[str, Any]:
        """The results document; InvalidSubmission when any case cannot be scored."""
        raise NotImplementedError


_LOADED: dict[str, Scorer] = {}


def scorer_names() -> tuple[str, ...]:
    return tuple(SCORERS)


def get_scorer(name: str) -> Scorer:
    """The registered scorer `name` (KeyError for an unknown name), imported on first use."""
    scorer = _LOADED.get(name)
    if scorer is None:
        module, _, attribute = SCORERS[name].partition(":")
        scorer = getattr(importlib.import_module(module), attribute)
        _LOADED[name] = scorer
    return scorer


def all_scorers() -> list[Scorer]:
    return [get_scorer(name) for name in SCORERS]
