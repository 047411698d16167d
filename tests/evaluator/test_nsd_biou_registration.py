"""NSD and Boundary IoU as task metrics (issue 12, item 5): a task that lists them gets the
values `surface_dice` and `boundary_iou` give on each case, at the task's widths in mm,
aggregated like Dice; task files are checked with clear errors; default tasks are unchanged.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.metric_spec import MetricSpec, metric_directions
from evaluator.metrics import boundary_iou as boundary_iou_module
from evaluator.metrics import surface_dice as surface_dice_module
from evaluator.metrics.boundary_iou import boundary_iou
from evaluator.metrics.surface_dice import surface_dice
from evaluator.results import validate_results
from evaluator.scorers.standard import SEGMENTATION_METRICS
from evaluator.scoring import score_submission
from evaluator.statistics.missing import default_worst
from evaluator.tasks import Task, TaskError, builtin_tasks, get_task
from evaluator.truth import TruthSet, write_truth_set
from tests.evaluator.hc18_submissions import make_hc18_release, write_submission

N_CASES = 8
#: Widths other than the defaults (2 mm) and each other, of a few HC18 pixels (0.07-0.2 mm),
#: so that the perturbations (a few pixels) give values between 0 and 1, and a value computed
#: at the wrong width cannot pass.
NSD_MM, BIOU_MM = 0.2, 0.7


def _with_boundary_metrics(name: str, **fields: Any) -> Task:
    """Builtin ``name`` with NSD and Boundary IoU added to its metrics (and ``fields``)."""
    data = get_task(name).to_dict()
    data["metrics"] = [*data["metrics"], "nsd", "boundary_iou"]
    return Task.from_dict({**data, **fields}, source="test task")


@pytest.fixture(scope="module")
def hc18_two_sites(tmp_path_factory: pytest.TempPathFactory) -> TruthSet:
    """8 real HC18 cases (pixels 0.07-0.2 mm) imported, in two sites."""
    from evaluator.importers.hc18 import import_hc18

    base = tmp_path_factory.mktemp("hc18_nsd")
    import_hc18(make_hc18_release(base / "release", N_CASES), base / "truth", progress=False)
    csv_path = base / "truth" / "cases.csv"
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["site"] = "north" if i % 2 else "south"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return TruthSet.load(base / "truth")


@pytest.fixture(scope="module")
def hc18_submission(hc18_two_sites: TruthSet, tmp_path_factory) -> tuple[Path, dict]:
    """Dilated, eroded, shifted and exact predictions, and the arrays written."""
    folder = tmp_path_factory.mktemp("hc18_nsd_sub") / "sub"
    return folder, write_submission(hc18_two_sites, folder)


# --------------------------------------------------------------------------------------------
# Scoring


def test_a_task_listing_them_gets_the_functions_values_per_case(
    hc18_two_sites: TruthSet, hc18_submission
) -> None:
    folder, arrays = hc18_submission
    task = _with_boundary_metrics("hc18", nsd_tolerance_mm=NSD_MM, boundary_iou_distance_mm=BIOU_MM)
    results = score_submission(task, hc18_two_sites.root, folder, workers=2, n_bootstrap=200)
    validate_results(results)
    plain = score_submission("hc18", hc18_two_sites.root, folder, workers=1, n_bootstrap=200)
    by_case = hc18_two_sites.by_case()
    nsd_values, biou_values = [], []
    at_default = [0, 0]  # cases whose value differs at the default width
    for entry, before in zip(results["cases"], plain["cases"], strict=True):
        truth = by_case[entry["case"]]
        ref = read_label_map(truth.label_path) != 0
        pred = arrays[entry["case"]] != 0
        head = entry["metrics"]["head"]
        # The very calls, so equal to the bit (a worker process scored half of the cases).
        assert head["nsd"] == surface_dice(pred, ref, truth.spacing, NSD_MM)
        assert head["boundary_iou"] == boundary_iou(pred, ref, truth.spacing, BIOU_MM)
        at_default[0] += head["nsd"] != surface_dice(pred, ref, truth.spacing, 2.0)
        at_default[1] += head["boundary_iou"] != boundary_iou(pred, ref, truth.spacing, 2.0)
        # Every other value is the default task's, and the new ones come after the task's
        # own metrics, in the order the task lists them.
        assert {k: v for k, v in head.items() if k not in ("nsd", "boundary_iou")} == (
            before["metrics"]["head"]
        )
        assert list(head)[7:9] == ["nsd", "boundary_iou"]
        assert entry["flags"] == before["flags"]
        nsd_values.append((entry["site"], head["nsd"]))
        biou_values.append((entry["site"], head["boundary_iou"]))
    assert len({v for _, v in nsd_values}) > 2  # the perturbations give different values
    assert len({v for _, v in biou_values}) > 2
    assert min(at_default) >= N_CASES // 2  # so the task's widths are the ones used

    # Aggregated like Dice: overall and per site, plain means with a bootstrap interval.
    for metric, values in (("nsd", nsd_values), ("boundary_iou", biou_values)):
        for site in ("all", "north", "south"):
            mine = [v for s, v in values if site in ("all", s)]
            summary = results["aggregates"][site]["head"][metric]
            assert summary["mean"] == pytest.approx(np.mean(mine), rel=1e-12)
            assert summary["median"] == pytest.approx(np.median(mine), rel=1e-12)
            assert summary["n"] == len(mine) and summary["n_nan"] == 0
            assert summary["ci95_low"] <= summary["mean"] <= summary["ci95_high"]
            assert set(summary) == set(results["aggregates"][site]["head"]["dice"])

    # The document records the widths the values were computed at.
    assert results["task"]["nsd_tolerance_mm"] == NSD_MM
    assert results["task"]["boundary_iou_distance_mm"] == BIOU_MM
    assert Task.from_dict(results["task"]) == task


def test_multi_class_tasks_score_each_class_at_unit_spacing(psfhs_labels, tmp_path: Path) -> None:
    """PSFHS (no pixel size: spacing 1, "mm" are pixels): per class, ps = 1 and fh = 2."""
    labels = {p.stem: read_label_map(p) for p in psfhs_labels[:4]}
    truth = write_truth_set(
        tmp_path / "truth", [(c, "cn", (1.0, 1.0), a, {}) for c, a in labels.items()]
    )
    preds = {}
    for i, (case, label) in enumerate(labels.items()):
        preds[case] = np.roll(label, i + 3, axis=i % 2)
        write_label_map(tmp_path / "preds" / f"{case}.png", preds[case])
    task = _with_boundary_metrics("psfhs", nsd_tolerance_mm=2.0)
    assert task.boundary_iou_distance_mm == 2.0  # the default
    results = score_submission(task, truth.root, tmp_path / "preds", workers=1, n_bootstrap=50)
    for entry in results["cases"]:
        pred, ref = preds[entry["case"]], labels[entry["case"]]
        for cls, value in (("ps", 1), ("fh", 2)):
            got = entry["metrics"][cls]
            assert got["nsd"] == surface_dice(pred == value, ref == value, (1.0, 1.0), 2.0)
            assert got["boundary_iou"] == boundary_iou(pred == value, ref == value, (1.0, 1.0), 2.0)
            assert 0.0 < got["nsd"] < 1.0
    assert results["task"]["boundary_iou_distance_mm"] == 2.0


def test_a_task_listing_only_one_gets_only_that_one(hc18_two_sites, hc18_submission) -> None:
    folder, _ = hc18_submission
    data = get_task("hc18").to_dict()
    ranking = [{"metric": "head.boundary_iou"}, {"metric": "head.dice"}]
    task = Task.from_dict({**data, "metrics": ["dice", "boundary_iou"], "ranking": ranking})
    assert task.primary_metric == "head.dice"  # hc18's own, kept
    results = score_submission(task, hc18_two_sites.root, folder, workers=1, n_bootstrap=20)
    head = results["cases"][0]["metrics"]["head"]
    assert [k for k in head if not k.startswith("hc_")] == ["dice", "boundary_iou"]
    assert "nsd_tolerance_mm" not in results["task"]
    assert results["task"]["boundary_iou_distance_mm"] == 2.0


# --------------------------------------------------------------------------------------------
# Default tasks are unchanged and pay nothing

#: The metric keys of each class of every builtin's results, as before NSD was registered.
DEFAULT_KEYS = {
    "hc18": {
        "head": [
            *SEGMENTATION_METRICS,
            "hc_pred_mm",
            "hc_ref_mm",
            "hc_abs_diff_mm",
            "hc_diff_mm",
        ]
    },
    "psfhs": {"ps": [*SEGMENTATION_METRICS], "fh": [*SEGMENTATION_METRICS]},
}
#: Every key of a builtin's task dict, as before (the widths are written only when listed).
TASK_KEYS = [
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
]


def test_default_tasks_are_unchanged() -> None:
    assert list(SEGMENTATION_METRICS) == ["dice", "iou", "hd", "hd95", "hd95_max", "assd", "masd"]
    for task in builtin_tasks():
        assert list(task.to_dict()) == TASK_KEYS, task.name
        assert "nsd" not in task.metrics and "boundary_iou" not in task.metrics
        assert Task.from_dict(json.loads(json.dumps(task.to_dict()))) == task


def test_default_results_carry_the_same_metric_keys_and_never_call_them(
    hc18_two_sites: TruthSet, hc18_submission, psfhs_labels, tmp_path: Path, monkeypatch
) -> None:
    """A default task's per-case metric keys are exactly the old ones, in the old order, and
    scoring it calls neither function (workers=1 scores in this process, where the patch
    holds)."""

    def refuse(*args: Any, **kwargs: Any) -> float:
        raise AssertionError("a default task computed a boundary metric")

    monkeypatch.setattr(surface_dice_module, "surface_dice", refuse)
    monkeypatch.setattr(boundary_iou_module, "boundary_iou", refuse)
    folder, _ = hc18_submission
    results = score_submission("hc18", hc18_two_sites.root, folder, workers=1, n_bootstrap=20)
    for entry in results["cases"]:
        assert {g: list(m) for g, m in entry["metrics"].items()} == DEFAULT_KEYS["hc18"]
    for site in results["aggregates"].values():
        assert {g: list(m) for g, m in site.items()} == DEFAULT_KEYS["hc18"]
    assert list(results["task"]) == TASK_KEYS

    labels = {p.stem: read_label_map(p) for p in psfhs_labels[:2]}
    truth = write_truth_set(
        tmp_path / "truth", [(c, "cn", (1.0, 1.0), a, {}) for c, a in labels.items()]
    )
    for case, label in labels.items():
        write_label_map(tmp_path / "preds" / f"{case}.png", np.roll(label, 2, axis=0))
    psfhs = score_submission("psfhs", truth.root, tmp_path / "preds", workers=1, n_bootstrap=20)
    for entry in psfhs["cases"]:
        assert {g: list(m) for g, m in entry["metrics"].items()} == DEFAULT_KEYS["psfhs"]

    # The patch is live: a task that lists NSD reaches it.
    with pytest.raises(AssertionError, match="computed a boundary metric"):
        score_submission(_with_boundary_metrics("hc18"), hc18_two_sites.root, folder, workers=1)


# --------------------------------------------------------------------------------------------
# Task files


def test_widths_default_to_2_mm_and_round_trip() -> None:
    task = _with_boundary_metrics("hc18")
    assert (task.nsd_tolerance_mm, task.boundary_iou_distance_mm) == (2.0, 2.0)
    data = task.to_dict()
    assert data["nsd_tolerance_mm"] == 2.0 and data["boundary_iou_distance_mm"] == 2.0
    assert Task.from_dict(json.loads(json.dumps(data))) == task
    integer = _with_boundary_metrics("hc18", nsd_tolerance_mm=3)
    assert integer.nsd_tolerance_mm == 3.0 and isinstance(integer.nsd_tolerance_mm, float)


def test_a_task_file_with_them(tmp_path: Path) -> None:
    path = tmp_path / "heads.json"
    path.write_text(
        json.dumps(
            {
                "name": "heads",
                "classes": [{"name": "head", "value": 1}],
                "metrics": ["dice", "nsd", "boundary_iou"],
                "nsd_tolerance_mm": 1.0,
                "boundary_iou_distance_mm": 0.5,
                "ranking": [{"metric": "head.nsd"}, {"metric": "head.boundary_iou"}],
            }
        )
    )
    task = get_task(path)
    assert task.primary_metric == "head.nsd"
    assert [s.label for s in task.ranking] == ["NSD @ 1 mm", "Boundary IoU @ 0.5 mm"]
    assert [s.higher_first for s in task.ranking] == [True, True]
    assert task.metric_directions == {
        "head.dice": True,
        "head.nsd": True,
        "head.boundary_iou": True,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"metrics": ["dice", "nsd", "nsd"]}, "lists a metric twice"),
        ({"metrics": ["dice", "nsd "]}, "unknown metric(s) ['nsd ']"),
        ({"nsd_tolerance_mm": 0}, "'nsd_tolerance_mm' must be a positive number of mm"),
        ({"nsd_tolerance_mm": -1.0}, "must be a positive number of mm (e.g. 2.0), not -1.0"),
        ({"nsd_tolerance_mm": math.inf}, "must be a positive number of mm"),
        ({"nsd_tolerance_mm": math.nan}, "must be a positive number of mm"),
        ({"nsd_tolerance_mm": True}, "must be a positive number of mm"),
        ({"boundary_iou_distance_mm": "2"}, "'boundary_iou_distance_mm' must be a positive"),
        ({"boundary_iou_distance_mm": None}, "'boundary_iou_distance_mm' must be a positive"),
        (
            {"metrics": ["dice", "nsd"], "boundary_iou_distance_mm": 2.0},
            "'boundary_iou_distance_mm' is given but 'metrics' does not list 'boundary_iou'",
        ),
        (
            {"metrics": ["dice"], "nsd_tolerance_mm": 2.0},
            "'nsd_tolerance_mm' is given but 'metrics' does not list 'nsd'; add 'nsd'",
        ),
        ({"nsd_tolerance": 2.0}, "unknown field(s) ['nsd_tolerance']"),
        (
            {"ranking": [{"metric": "head.nsd", "higher_is_better": False}]},
            "ranking metric 'head.nsd': higher is better",
        ),
    ],
)
def test_task_errors_say_what_to_fix(change: dict, message: str) -> None:
    data = {**_with_boundary_metrics("hc18").to_dict(), **change}
    with pytest.raises(TaskError) as raised:
        Task.from_dict(data, source="task file x.json")
    assert message in str(raised.value)
    assert str(raised.value).startswith("task file x.json: ")


@pytest.mark.parametrize("name", ["psfhs2023", "classification"])
def test_only_the_standard_scorer_computes_them(name: str) -> None:
    """The psfhs2023 scorer equals the organisers' script (it adds nothing); classification
    has no boundaries. Both refuse them, and their widths, by name."""
    if name == "psfhs2023":
        data = get_task("psfhs2023").to_dict()
    else:
        data = {
            "name": "views",
            "kind": "classification",
            "classes": [{"name": "a"}, {"name": "b"}],
        }
    with pytest.raises(TaskError, match=rf"unknown metric\(s\) \['nsd'\] for scorer '{name}'"):
        Task.from_dict({**data, "metrics": ["nsd"]})
    with pytest.raises(TaskError, match="'metrics' does not list 'nsd'"):
        Task.from_dict({**data, "nsd_tolerance_mm": 2.0})


# --------------------------------------------------------------------------------------------
# Directions, words, worst values, warm-up


def test_directions_words_and_worst_values() -> None:
    assert metric_directions()["nsd"] is True
    assert metric_directions()["boundary_iou"] is True
    nsd = MetricSpec.of("head.nsd")
    assert (nsd.higher_first, nsd.arrow, nsd.label) == (True, "↑", "NSD")
    assert MetricSpec.of("fh.boundary_iou").label == "Boundary IoU"
    task = _with_boundary_metrics("psfhs", nsd_tolerance_mm=2.5, boundary_iou_distance_mm=7)
    assert task.metric("fh.nsd").label == "NSD @ 2.5 mm"
    assert task.metric("ps.boundary_iou").label == "Boundary IoU @ 7 mm"
    assert task.metric("ps.boundary_iou").higher_is_better is True
    assert task.metric("ps.dice") == MetricSpec.of("ps.dice")
    with pytest.raises(TaskError, match="is not a metric of task 'hc18'"):
        get_task("hc18").metric("head.nsd")
    # A missing or failed case counts as the worst value, 0, bounded by construction.
    assert default_worst("head.nsd") == 0.0
    assert default_worst("fh.boundary_iou") == 0.0


def test_warm_up_compiles_both_kernels_in_a_fresh_process() -> None:
    """A scoring worker runs warm_up before its first case: after it, both metrics' kernels
    are loaded, so a task listing them never compiles in the middle of a submission."""
    code = (
        "from evaluator.metrics import warm_up, surface_dice, boundary_iou\n"
        "assert not surface_dice._contour_kernel.signatures\n"
        "assert not boundary_iou._band_kernel.signatures\n"
        "warm_up()\n"
        "print(len(surface_dice._contour_kernel.signatures),"
        " len(boundary_iou._band_kernel.signatures))\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_the_cli_lists_them_as_the_standard_scorers_optional_metrics() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "evaluator", "tasks"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    standard = next(line for line in done.stdout.splitlines() if line.startswith("standard "))
    assert standard.endswith("masd (optional: nsd, boundary_iou)")
    psfhs2023 = next(line for line in done.stdout.splitlines() if line.startswith("psfhs2023 "))
    assert "optional" not in psfhs2023
