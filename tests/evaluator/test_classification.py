"""Classification scoring: hand-computed accuracy, macro F1, AUC and clear input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluator.scorers.classification import (
    ClassificationInputError,
    binary_auc,
    macro_f1,
    read_probabilities,
    score_classification,
)
from evaluator.scoring import InvalidSubmission, score_submission
from evaluator.tasks import Task

TASK = Task.from_dict(
    {
        "name": "planes",
        "kind": "classification",
        "classes": [{"name": "head"}, {"name": "abdomen"}, {"name": "femur"}],
        "primary_metric": "classification.macro_f1",
    }
)


def test_auc_by_hand() -> None:
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs won 3 of 4
    assert binary_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.4, 0.5, 0.1])) == 0.75
    # a tie counts one half
    assert binary_auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5


def test_macro_f1_and_accuracy_by_hand() -> None:
    labels = np.array([0, 0, 1, 2])
    predicted = np.array([0, 1, 1, 1])
    # class 0: tp1 fn1 -> 2/3; class 1: tp1 fp2 -> 2/4; class 2: fn1 -> 0
    assert macro_f1(labels, predicted, 3) == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    scores = np.eye(3)[predicted]
    assert score_classification(labels, scores)["accuracy"] == 0.5


def test_csv_errors_are_all_reported() -> None:
    text = "case,head,abdomen,femur\na,0.5,0.5,0\na,1,0,0\nb,x,0,2\nzz,1,0,0\n"
    with pytest.raises(ClassificationInputError) as info:
        read_probabilities(text, ["a", "b", "c"], TASK.class_names)
    codes = sorted(p.code for p in info.value.problems)
    assert codes == ["bad_number", "bad_number", "duplicate_case", "extra_case", "missing_case"]
    with pytest.raises(ClassificationInputError, match="header must be"):
        read_probabilities("case,head\na,1\n", ["a"], TASK.class_names)


def _truth(tmp_path: Path) -> Path:
    root = tmp_path / "truth"
    root.mkdir()
    rows = ["case,site,class", "a,s1,head", "b,s1,abdomen", "c,s2,femur", "d,s2,head"]
    (root / "cases.csv").write_text("\n".join(rows) + "\n")
    return root


def test_whole_submission(tmp_path: Path) -> None:
    preds = tmp_path / "preds.csv"
    preds.write_text(
        "case,femur,head,abdomen\na,0.1,0.8,0.1\nb,0.2,0.3,0.5\nc,0.6,0.2,0.2\nd,0.1,0.3,0.6\n"
    )
    results = score_submission(TASK, _truth(tmp_path), preds, n_bootstrap=50)
    group = results["aggregates"]["all"]["classification"]
    assert group["accuracy"]["mean"] == 0.75 and group["correct"]["mean"] == 0.75
    assert set(results["aggregates"]) == {"all", "s1", "s2"}
    assert results["aggregates"]["s1"]["classification"]["accuracy"]["mean"] == 1.0
    assert results["cases"][3]["metrics"]["classification"]["p_true"] == 0.3
    # every name it writes is one of the task's paths, so each has a direction to rank by
    emitted = {f"classification.{name}" for name in group}
    assert emitted == set(TASK.metric_directions)


def test_invalid_submission_lists_problems(tmp_path: Path) -> None:
    preds = tmp_path / "preds.csv"
    preds.write_text("case,femur,head,abdomen\na,0.1,0.8,0.1\n")
    with pytest.raises(InvalidSubmission) as info:
        score_submission(TASK, _truth(tmp_path), preds)
    assert sorted(p.case for p in info.value.report.problems) == ["b", "c", "d"]
