"""Challenge tasks: what a submission is scored on, and how.

A task is data, not code, so organisers can add a challenge by writing a JSON file (the same
shape as `Task.to_dict()`) instead of changing the evaluator. The builtins below are written
the same way. `get_task` accepts either a builtin name or a path to such a file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluator.metric_spec import MetricSpec
from evaluator.scorers.registry import (
    CLASSIFICATION,
    KINDS,
    SEGMENTATION,
    get_scorer,
    scorer_names,
)

#: The scorers (evaluator.scorers): "standard" = per-class `score_class` (+ biometry);
#: "psfhs2023" = the MICCAI 2023 PSFHS challenge's own formulas; "classification" = CSV of
#: probabilities. Each scorer says which metrics a task may list, with their directions
#: (read through `evaluator.metric_spec.MetricSpec`).
SCORERS = scorer_names()

#: The width in mm each boundary metric is computed at, by the task field that sets it, and
#: its default (docs/metrics.md, "Suggested task settings"). A task file may give the field
#: only when its "metrics" list the metric; `Task.to_dict` writes it exactly then.
METRIC_WIDTHS: dict[str, str] = {
    "nsd": "nsd_tolerance_mm",
    "boundary_iou": "boundary_iou_distance_mm",
}
DEFAULT_WIDTH_MM = 2.0

#: What a label says for each (`Task.metric`): "NSD @ 2 mm", "Boundary IoU @ 2 mm".
_WIDTH_WORDS = {"nsd": "NSD", "boundary_iou": "Boundary IoU"}


_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class TaskError(ValueError):
    """A task name or task file that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class TaskClass:
    """One structure to segment (label value in the masks) or one category to classify."""

    name: str
    value: int


@dataclass(frozen=True)
class Task:
    """Everything the evaluator needs to know to score one challenge's submissions."""

    name: str
    title: str
    kind: str
    classes: tuple[TaskClass, ...]
    #: Task files get their scorer's full list when they name none (see _parse_task); this
    #: default (the standard scorer's) only serves Task objects built in code.
    metrics: tuple[str, ...] = ("dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd")
    biometry: dict[str, str] = field(default_factory=dict)
    primary_metric: str = ""
    #: Leaderboard criteria in order (first = primary), each a metric path with its direction.
    ranking: tuple[MetricSpec, ...] = ()
    scorer: str = "standard"
    description: str = ""
    #: NSD's tolerance (mm): boundary within this distance of the other boundary counts.
    nsd_tolerance_mm: float = DEFAULT_WIDTH_MM
    #: Boundary IoU's band width (mm): each mask's pixels within this of its outside.
    boundary_iou_distance_mm: float = DEFAULT_WIDTH_MM

    @property
    def binary(self) -> bool:
        """True when masks hold one structure, so any non-zero pixel counts as foreground."""
        return len(self.classes) == 1

    @property
    def class_values(self) -> dict[str, int]:
        return {c.name: c.value for c in self.classes}

    @property
    def class_names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def metric_directions(self) -> dict[str, bool | None]:
        """Every "group.metric" path this task's results carry, with its direction (None:
        a measurement with no better side)."""
        return {path: self.metric(path).higher_is_better for path in metric_paths(self)}

    @property
    def metric_widths(self) -> dict[str, float]:
        """{field: mm} of the boundary metrics this task lists ("nsd_tolerance_mm": 2.0)."""
        return {
            name: getattr(self, name)
            for metric, name in METRIC_WIDTHS.items()
            if metric in self.metrics
        }

    def metric(self, metric_path: str) -> MetricSpec:
        """One of this task's metric paths with its direction and words; TaskError naming
        the choices if the task's results never carry it (a typo must not silently rank by
        nothing). A boundary metric's label gives this task's width ("NSD @ 2 mm"), which
        `MetricSpec.of` ("NSD"), knowing no task, cannot."""
        if metric_path not in metric_paths(self):
            raise TaskError(
                f"{metric_path!r} is not a metric of task {self.name!r}; "
                f"choose from {metric_paths(self)}"
            )
        return self._with_width(MetricSpec.of(metric_path, self.scorer))

    def _with_width(self, spec: MetricSpec) -> MetricSpec:
        """``spec`` with the task's width in its label where it is a boundary metric."""
        field_name = METRIC_WIDTHS.get(spec.name)
        if field_name is None:
            return spec
        unit = get_scorer(self.scorer).distance_unit
        width = getattr(self, field_name)
        return dataclasses.replace(spec, label=f"{_WIDTH_WORDS[spec.name]} @ {width:g} {unit}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "scorer": self.scorer,
            "description": self.description,
            "classes": [{"name": c.name, "value": c.value} for c in self.classes],
            "binary": self.binary,
            "metrics": list(self.metrics),
            "biometry": dict(self.biometry),
            "primary_metric": self.primary_metric,
            "ranking": [ranking_entry(spec) for spec in self.ranking],
            **self.metric_widths,
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "task") -> Task:
        """Build and validate a task; every problem is reported with `source` in the message."""
        return _parse_task(data, source)


# --------------------------------------------------------------------------------------------
# Validation


def _fail(source: str, message: str) -> TaskError:
    return TaskError(f"{source}: {message}")


def _parse_task(data: Any, source: str) -> Task:
    if not isinstance(data, dict):
        raise _fail(source, "a task must be a JSON object")
    known = {
        "name",
        "title",
        "kind",
        "scorer",
        "description",
        "classes",
        "binary",
        "metrics",
        "biometry",
        "primary_metric",
        "ranking",
        *METRIC_WIDTHS.values(),
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(source, f"unknown field(s) {unknown}; allowed: {sorted(known)}")

    name = data.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _fail(source, "'name' must be lower-case letters, digits and '_' (e.g. 'hc18')")
    title = data.get("title", name)
    if not isinstance(title, str):
        raise _fail(source, "'title' must be a string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(source, "'description' must be a string")
    kind = data.get("kind", SEGMENTATION)
    if kind not in KINDS:
        raise _fail(source, f"'kind' must be one of {list(KINDS)}, not {kind!r}")
    default_scorer = "classification" if kind == CLASSIFICATION else "standard"
    scorer_name = data.get("scorer", default_scorer)
    if scorer_name not in SCORERS:
        raise _fail(source, f"'scorer' must be one of {list(SCORERS)}, not {scorer_name!r}")
    scorer = get_scorer(scorer_name)
    if scorer.kind != kind:
        raise _fail(source, f"scorer {scorer_name!r} does not fit kind {kind!r}")

    classes = _parse_classes(data.get("classes"), kind, source)
    problem = scorer.check(Task(name, title, kind, tuple(classes), scorer=scorer_name))
    if problem:
        raise _fail(source, problem)
    if "binary" in data and data["binary"] != (len(classes) == 1):
        raise _fail(source, "'binary' must be true exactly when there is one class")

    allowed_metrics = scorer.allowed_metrics()
    metrics = data.get("metrics", list(scorer.metrics))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise _fail(source, "'metrics' must be a non-empty list of metric names")
    bad = [m for m in metrics if m not in allowed_metrics]
    if bad:
        raise _fail(
            source,
            f"unknown metric(s) {bad} for scorer {scorer_name!r}; allowed: {list(allowed_metrics)}",
        )
    if len(set(metrics)) != len(metrics):
        raise _fail(source, "'metrics' lists a metric twice")
    widths = _parse_widths(data, metrics, source)

    biometry = data.get("biometry", {})
    if not isinstance(biometry, dict):
        raise _fail(source, '\'biometry\' must be an object like {"hc": "head"}')
    if biometry and not scorer.measurements:
        raise _fail(source, "'biometry' is only supported by the standard segmentation scorer")
    class_names = [c.name for c in classes]
    known_biometry = scorer.measurements
    for key, cls_name in biometry.items():
        if key not in known_biometry:
            raise _fail(source, f"unknown biometry {key!r}; allowed: {sorted(known_biometry)}")
        if cls_name not in class_names:
            raise _fail(source, f"biometry {key!r} refers to unknown class {cls_name!r}")

    # The task without its ranking yet: what the scorer reads to list its paths.
    draft = Task(
        name=name,
        title=title,
        kind=kind,
        classes=tuple(classes),
        metrics=tuple(metrics),
        biometry=dict(biometry),
        scorer=scorer_name,
        description=description,
        **widths,
    )
    valid_paths = scorer.metric_paths(draft)
    ranking_raw = data.get("ranking", [])
    problem = ranking_problem(ranking_raw, valid_paths, what=f"task {name!r}")
    if problem:
        raise _fail(source, problem)
    ranking = parse_ranking(ranking_raw, scorer_name)

    primary = data.get("primary_metric") or (ranking[0].path if ranking else "")
    if not isinstance(primary, str) or primary not in valid_paths:
        raise _fail(
            source,
            f"'primary_metric' {primary!r} is not produced by this task; "
            f"choose from {sorted(valid_paths)}",
        )
    if not ranking:
        ranking = (MetricSpec.of(primary, scorer_name),)
    ranking = tuple(draft._with_width(spec) for spec in ranking)

    return dataclasses.replace(draft, primary_metric=primary, ranking=ranking)


def _parse_widths(data: dict[str, Any], metrics: list[str], source: str) -> dict[str, float]:
    """The task's boundary-metric widths in mm ({field: mm}, defaults where left out).

    A width must be a positive, finite number of mm, and may be given only where "metrics"
    lists its metric: a width without its metric is most likely a metric left out or misspelt,
    and would otherwise be ignored without a word.
    """
    widths: dict[str, float] = {}
    for metric, name in METRIC_WIDTHS.items():
        if name not in data:
            continue
        value = data[name]
        if metric not in metrics:
            raise _fail(
                source,
                f"{name!r} is given but 'metrics' does not list {metric!r}; "
                f"add {metric!r} to 'metrics' or leave {name!r} out",
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value <= 0
        ):
            raise _fail(
                source, f"{name!r} must be a positive number of mm (e.g. 2.0), not {value!r}"
            )
        widths[name] = float(value)
    return widths


def _parse_classes(raw: Any, kind: str, source: str) -> list[TaskClass]:
    if not isinstance(raw, list) or not raw:
        raise _fail(source, "'classes' must be a non-empty list of {name, value}")
    classes = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"name", "value"}:
            raise _fail(source, f"class #{i + 1} must be an object {{name, value}}")
        cname = item.get("name")
        if not isinstance(cname, str) or not _NAME_RE.match(cname):
            raise _fail(source, f"class #{i + 1}: name must be lower-case letters/digits/'_'")
        value = item.get("value", i if kind == CLASSIFICATION else i + 1)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(source, f"class {cname!r}: value must be an integer")
        if kind == SEGMENTATION and not 1 <= value <= 255:
            raise _fail(source, f"class {cname!r}: label value must be 1..255 (0 is background)")
        classes.append(TaskClass(cname, value))
    names = [c.name for c in classes]
    values = [c.value for c in classes]
    if len(set(names)) != len(names):
        raise _fail(source, "two classes share a name")
    if len(set(values)) != len(values):
        raise _fail(source, "two classes share a label value")
    if kind == CLASSIFICATION and len(classes) < 2:
        raise _fail(source, "a classification task needs at least two classes")
    if kind == SEGMENTATION and "all" in names:
        raise _fail(source, "'all' is reserved (it names the per-site aggregate and the union)")
    return classes


def metric_paths(task: Task) -> list[str]:
    """Every "group.metric" path the task's results carry (what ranking may refer to)."""
    return get_scorer(task.scorer).metric_paths(task)


# --------------------------------------------------------------------------------------------
# Ranking entries: one JSON shape for a task's "ranking" and a platform phase's ranking metrics
#
# Each entry is {"metric": "group.metric"}, optionally with "higher_is_better", which must
# then agree with the metric's direction (true only for a higher-is-better score; a
# measurement sorts ascending, so false). Organisers write this shape in task files and in a
# phase's ranking metrics alike.

RANKING_SHAPE = '{"metric": "group.metric"} objects (optionally with "higher_is_better")'


def ranking_entry(spec: MetricSpec) -> dict[str, Any]:
    """The JSON of one ranking entry, as `Task.to_dict` writes it."""
    return {"metric": spec.path, "higher_is_better": spec.higher_first}


def ranking_problem(entries: Any, valid_paths: Sequence[str], *, what: str) -> str | None:
    """Why ``entries`` cannot rank results that carry ``valid_paths`` (``what`` says whose
    results, e.g. "task 'hc18'"), or None when they can; an empty list can."""
    if not isinstance(entries, list):
        return f"ranking must be a list of {RANKING_SHAPE}, not {type(entries).__name__}"
    for i, item in enumerate(entries, start=1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("metric"), str)
            or not isinstance(item.get("higher_is_better", True), bool)
            or set(item) - {"metric", "higher_is_better"}
        ):
            return (
                f"ranking entry #{i} {item!r} must be "
                "{metric: str} or {metric: str, higher_is_better: bool}"
            )
        path = item["metric"]
        if path not in valid_paths:
            return (
                f"ranking metric #{i} {path!r} is not a metric of {what}; "
                f"choose from {sorted(valid_paths)}"
            )
        higher_first = MetricSpec.of(path).higher_first
        if item.get("higher_is_better", higher_first) != higher_first:
            word = "higher" if higher_first else "lower"
            return (
                f"ranking metric {path!r}: {word} is better "
                f"(higher_is_better: {str(higher_first).lower()}); leave the field out or fix it"
            )
    return None


def parse_ranking(entries: Any, scorer: str = "standard") -> tuple[MetricSpec, ...]:
    """The specs of stored ranking entries, with ``scorer``'s words. Only this shape is read:
    anything else (e.g. an old ``{"class", "metric"}`` pair) is a TaskError rather than a
    board silently ranked by a metric called "dice" in no group. `ranking_problem` says
    whether the paths fit a task; UnknownMetric for a name no scorer emits."""
    specs = []
    for item in entries or ():
        if (
            not isinstance(item, dict)
            or set(item) - {"metric", "higher_is_better"}
            or not isinstance(item.get("metric"), str)
            or "." not in item["metric"]
        ):
            raise TaskError(f"ranking entry {item!r} is not one of {RANKING_SHAPE}")
        specs.append(MetricSpec.of(item["metric"], scorer))
    return tuple(specs)


# --------------------------------------------------------------------------------------------
# Builtins

_BUILTINS: dict[str, dict[str, Any]] = {
    "hc18": {
        "name": "hc18",
        "title": "HC18: fetal head segmentation and head circumference",
        "kind": SEGMENTATION,
        "description": "Binary head masks; Dice, surface distances and the head circumference "
        "of an ellipse fitted to the predicted mask, against the reference HC in mm.",
        "classes": [{"name": "head", "value": 1}],
        "biometry": {"hc": "head"},
        "primary_metric": "head.dice",
        "ranking": [
            {"metric": "head.dice", "higher_is_better": True},
            {"metric": "head.hd95", "higher_is_better": False},
            {"metric": "head.hc_abs_diff_mm", "higher_is_better": False},
        ],
    },
    "psfhs": {
        "name": "psfhs",
        "title": "PSFHS: pubic symphysis and fetal head segmentation",
        "kind": SEGMENTATION,
        "description": "Label maps 0 background, 1 pubic symphysis, 2 fetal head; the standard "
        "per-class metrics (distances in pixels: PSFHS gives no pixel size).",
        "classes": [{"name": "ps", "value": 1}, {"name": "fh", "value": 2}],
        "primary_metric": "fh.dice",
        "ranking": [
            {"metric": "fh.dice", "higher_is_better": True},
            {"metric": "ps.dice", "higher_is_better": True},
            {"metric": "fh.hd95", "higher_is_better": False},
            {"metric": "ps.hd95", "higher_is_better": False},
        ],
    },
    "psfhs2023": {
        "name": "psfhs2023",
        "title": "PSFHS / FH-PS-AoP 2023 challenge score",
        "kind": SEGMENTATION,
        "scorer": "psfhs2023",
        "description": "The MICCAI 2023 challenge's own scoring in pixels: Dice (smoothed), "
        "SimpleITK Hausdorff and average surface distance for PS, FH and their union, the "
        "angle of progression error and the combined score S.",
        "classes": [{"name": "ps", "value": 1}, {"name": "fh", "value": 2}],
        "primary_metric": "challenge.score",
        "ranking": [{"metric": "challenge.score", "higher_is_better": True}],
    },
}


def builtin_task_names() -> list[str]:
    return sorted(_BUILTINS)


def builtin_tasks() -> list[Task]:
    return [get_task(n) for n in builtin_task_names()]


def get_task(name_or_path: str | Path | Task) -> Task:
    """A builtin task by name, or a task loaded from a JSON file (validated)."""
    if isinstance(name_or_path, Task):
        return name_or_path
    key = str(name_or_path)
    if key in _BUILTINS:
        return Task.from_dict(_BUILTINS[key], source=f"builtin task {key!r}")
    path = Path(key)
    if path.suffix.lower() != ".json" and not path.exists():
        raise TaskError(
            f"unknown task {key!r}: use one of {builtin_task_names()} or a path to a .json task file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(f"task file {key} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"task file {key} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskError(f"task file {key} is not valid JSON: {exc}") from None
    return Task.from_dict(data, source=f"task file {key}")
