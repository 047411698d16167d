"""Tasks: builtins, JSON round trip and clear errors for bad task files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from evaluator.tasks import Task, TaskError, builtin_task_names, get_task, metric_paths


def test_builtins_load_and_round_trip() -> None:
    assert builtin_task_names() == ["hc18", "psfhs", "psfhs2023"]
    for name in builtin_task_names():
        task = get_task(name)
        assert Task.from_dict(task.to_dict()) == task
        assert task.primary_metric in metric_paths(task)


def test_hc18_is_binary_with_head_circumference() -> None:
    task = get_task("hc18")
    assert task.binary and task.class_values == {"head": 1}
    assert task.biometry == {"hc": "head"}
    assert "head.hc_abs_diff_mm" in metric_paths(task)
    psfhs = get_task("psfhs")
    assert not psfhs.binary and psfhs.class_values == {"ps": 1, "fh": 2}


def test_task_file_with_ac_and_fl(tmp_path: Path) -> None:
    spec = {
        "name": "abdomen_femur",
        "title": "AC and FL",
        "kind": "segmentation",
        "classes": [{"name": "abdomen", "value": 1}, {"name": "femur", "value": 2}],
        "metrics": ["dice", "hd95"],
        "biometry": {"ac": "abdomen", "fl": "femur"},
        "ranking": [{"metric": "femur.fl_abs_diff_mm", "higher_is_better": False}],
    }
    path = tmp_path / "task.json"
    path.write_text(json.dumps(spec))
    task = get_task(str(path))
    assert task.primary_metric == "femur.fl_abs_diff_mm"
    assert task.metrics == ("dice", "hd95")
    assert "abdomen.ac_ref_mm" in metric_paths(task)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name"}, "'name'"),
        ({"kind": "detection"}, "'kind'"),
        ({"classes": []}, "'classes'"),
        ({"classes": [{"name": "a", "value": 1}, {"name": "b", "value": 1}]}, "share a label"),
        ({"classes": [{"name": "a", "value": 0}]}, "1..255"),
        ({"metrics": ["dice", "volume"]}, "unknown metric"),
        ({"biometry": {"bpd": "head"}}, "unknown biometry"),
        ({"biometry": {"hc": "brain"}}, "unknown class"),
        ({"primary_metric": "head.accuracy"}, "primary_metric"),
        ({"colour": "red"}, "unknown field"),
        ({"scorer": "psfhs2023", "biometry": {}, "primary_metric": "challenge.score"}, "ps = 1"),
    ],
)
def test_bad_task_files_say_what_is_wrong(tmp_path: Path, change: dict, message: str) -> None:
    spec = get_task("hc18").to_dict()
    spec.update(change)
    path = tmp_path / "task.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(TaskError, match=message):
        get_task(path)


def test_unknown_name_missing_file_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="unknown task 'nope'"):
        get_task("nope")
    with pytest.raises(TaskError, match="does not exist"):
        get_task(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TaskError, match="not valid JSON"):
        get_task(bad)


def test_classification_task() -> None:
    task = Task.from_dict(
        {
            "name": "planes",
            "kind": "classification",
            "classes": [{"name": "head"}, {"name": "abdomen"}, {"name": "femur"}],
            "primary_metric": "classification.macro_f1",
        }
    )
    assert task.scorer == "classification"
    assert task.metrics == ("accuracy", "macro_f1", "macro_auc")


def test_directions_come_from_one_table() -> None:
    from evaluator.metric_spec import MetricSpec, UnknownMetric, metric_directions

    assert MetricSpec.of("head.dice").higher_is_better
    assert MetricSpec.of("challenge.score", "psfhs2023").higher_is_better
    for path in ("head.hd95", "ps.asd", "head.hc_abs_diff_mm", "aop.aop_abs_diff", "fh.masd"):
        assert MetricSpec.of(path).higher_is_better is False
    assert MetricSpec.of("dice").higher_is_better is metric_directions()["dice"]
    with pytest.raises(UnknownMetric, match="unknown metric 'hc_abs_error_mm'"):
        MetricSpec.of("head.hc_abs_error_mm")


def test_a_metric_spec_says_direction_order_and_words() -> None:
    """One type for "a metric with a direction": measurements have no better side (no
    arrow, no "better") but sort ascending; words carry the scorer's unit."""
    from evaluator.metric_spec import MetricSpec

    dice = MetricSpec.of("head.dice")
    assert (dice.group, dice.name, dice.direction, dice.arrow) == ("head", "dice", "higher", "↑")
    assert dice.higher_first and dice.label == "Dice" and dice.unit == ""
    hd95 = MetricSpec.of("head.hd95")
    assert (hd95.direction, hd95.arrow, hd95.higher_first) == ("lower", "↓", False)
    assert hd95.label == "HD95 (mm)" and MetricSpec.of("fh.hd", "psfhs2023").label == "HD (px)"
    for path in ("head.hc_pred_mm", "head.hc_ref_mm", "head.hc_diff_mm", "aop.aop_pred"):
        spec = MetricSpec.of(path, "psfhs2023" if "aop" in path else "standard")
        assert spec.higher_is_better is None and spec.direction is None and spec.arrow == ""
        assert not spec.has_better_side and not spec.higher_first
    assert MetricSpec.of("head.hc_diff_mm").label == "HC diff, pred − ref (mm)"
    assert MetricSpec.of("aop.aop_ref", "psfhs2023").label == "AoP reference (°)"
    assert MetricSpec.of("dice") is MetricSpec.of("dice")  # built once, shared
    assert MetricSpec.of("dice").group == ""


def test_task_directions_and_unknown_paths() -> None:
    task = get_task("hc18")
    assert task.metric_directions["head.hc_abs_diff_mm"] is False
    assert task.metric_directions["head.hc_pred_mm"] is None
    assert set(task.metric_directions) == set(metric_paths(task))
    assert task.metric("head.dice").higher_is_better is True
    with pytest.raises(TaskError, match=r"'head\.hc_abs_error_mm' is not a metric of task 'hc18'"):
        task.metric("head.hc_abs_error_mm")
    with pytest.raises(TaskError, match="is not a metric"):
        get_task("psfhs").metric("head.dice")


def test_ranking_direction_is_optional_and_must_agree() -> None:
    spec = get_task("hc18").to_dict()
    spec["ranking"] = [{"metric": "head.hd95"}]
    spec["primary_metric"] = "head.hd95"
    assert Task.from_dict(spec).ranking[0].higher_is_better is False
    spec["ranking"] = [{"metric": "head.hd95", "higher_is_better": True}]
    with pytest.raises(TaskError, match=r"'head\.hd95': lower is better"):
        Task.from_dict(spec)
    # A measurement ranks ascending: its entry says false (or nothing), as before.
    spec["ranking"] = [{"metric": "head.hc_pred_mm", "higher_is_better": False}]
    task = Task.from_dict(spec)
    assert task.ranking[0].higher_is_better is None
    assert task.to_dict()["ranking"] == [{"metric": "head.hc_pred_mm", "higher_is_better": False}]
    spec["ranking"] = [{"metric": "head.hc_pred_mm", "higher_is_better": True}]
    with pytest.raises(TaskError, match="lower is better"):
        Task.from_dict(spec)


def _label_map(task: Task) -> np.ndarray:
    """One filled ellipse per class (label value), far enough apart to measure each."""
    label = np.zeros((160, 160), np.uint8)
    for i, cls in enumerate(task.classes):
        cv2.ellipse(label, (40 + 70 * i, 80), (28, 18), 20, 0, 360, cls.value, -1)
    return label


SEGMENTATION_TASKS = [
    *builtin_task_names(),
    {
        "name": "abdomen_femur",
        "classes": [{"name": "abdomen", "value": 1}, {"name": "femur", "value": 2}],
        "biometry": {"ac": "abdomen", "fl": "femur"},
        "primary_metric": "abdomen.dice",
    },
]


@pytest.mark.parametrize("spec", SEGMENTATION_TASKS, ids=lambda s: str(s)[:20])
def test_every_emitted_metric_is_a_task_path_with_a_direction(spec) -> None:
    """What a scorer writes for a case is exactly what a task lists, so a leaderboard can
    rank by any of it and never meets a name without a direction."""
    from evaluator.scoring import score_arrays

    task = get_task(spec) if isinstance(spec, str) else Task.from_dict(spec)
    label = _label_map(task)
    metrics, _ = score_arrays(task, np.roll(label, 3, axis=1), label, (0.5, 0.5), {})
    emitted = {f"{group}.{name}" for group, values in metrics.items() for name in values}
    assert emitted == set(metric_paths(task))
    assert set(task.metric_directions) == emitted
