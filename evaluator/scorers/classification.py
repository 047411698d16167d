"""Standard-plane style classification scoring: accuracy, macro F1 and macro one-vs-rest AUC.

Truth: the truth set's cases.csv with a `class` column (one of the task's class names).
Predictions: one CSV `case,<class_1>,<class_2>,...` of probabilities (or any scores; the
predicted class is the arg-max, ties going to the first column in task order).

Written with NumPy only (no scikit-learn in the evaluator image); the formulas are the usual
ones and are checked against hand-computed cases in tests/evaluator/test_classification.py:

* accuracy  = correct / n
* macro F1  = mean over classes of 2 TP / (2 TP + FP + FN) (a class never predicted and never
  present scores F1 = 0 only if it is absent from both; such a class is skipped instead)
* macro AUC = mean over classes present with both positives and negatives of the Mann-Whitney
  AUC of that class's score column (ties count 1/2); classes without both are skipped and
  counted in `auc_classes_skipped`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluator.aggregate import BOOTSTRAP_SEED
from evaluator.errors import InvalidSubmission
from evaluator.io.archives import ArchiveError, unpacked
from evaluator.io.problems import Problem
from evaluator.results import build_results, input_digests
from evaluator.scorers.registry import CLASSIFICATION, Scorer
from evaluator.truth import CasesRow, TruthSetError, read_cases_csv
from evaluator.validation import ValidationReport

TRUTH_COLUMN = "class"


class ClassificationInputError(ValueError):
    """Predictions (or truth) that cannot be scored; `problems` lists every defect."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} problem(s):"] + [f"  - {p.message}" for p in problems[:50]]
        super().__init__("\n".join(lines))


def read_truth_classes(
    truth_cases: Sequence[tuple[str, str]], class_names: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """(case ids, class indices) from (case, class name) pairs, checking every name."""
    problems = []
    index = {name: i for i, name in enumerate(class_names)}
    cases, labels = [], []
    for case, name in truth_cases:
        if name not in index:
            problems.append(
                Problem(
                    case,
                    "bad_truth_class",
                    f"truth class {name!r} of case {case} is not one of {list(class_names)}",
                )
            )
            continue
        cases.append(case)
        labels.append(index[name])
    if problems:
        raise ClassificationInputError(problems)
    return cases, np.asarray(labels, dtype=np.int64)


def read_probabilities(
    source: Path | str, cases: Sequence[str], class_names: Sequence[str]
) -> np.ndarray:
    """(n_cases, n_classes) scores in the order of `cases`; every defect is reported at once.

    `source` is a CSV path (or the CSV text itself when it contains a newline).
    """
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ClassificationInputError(
                [Problem(None, "missing_file", f"predictions file {path.name} does not exist")]
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ClassificationInputError(
                [Problem(None, "unreadable", f"cannot read {path.name}: {exc}")]
            ) from None
    else:
        text = str(source)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ClassificationInputError(
            [Problem(None, "bad_csv", f"not a valid CSV: {exc}")]
        ) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ClassificationInputError([Problem(None, "bad_csv", "the predictions CSV is empty")])
    header = [h.strip() for h in rows[0]]
    expected = ["case", *class_names]
    if (
        not header
        or header[0] != "case"
        or sorted(header[1:]) != sorted(class_names)
        or len(set(header)) != len(header)
    ):
        raise ClassificationInputError(
            [
                Problem(
                    None,
                    "bad_header",
                    f"header must be {','.join(expected)} (class columns in any order), "
                    f"got {','.join(header)}",
                )
            ]
        )
    column_of = {name: header.index(name) for name in class_names}
    wanted = {c: i for i, c in enumerate(cases)}
    scores = np.full((len(cases), len(class_names)), np.nan)
    seen: set[str] = set()
    problems: list[Problem] = []
    for line_no, row in enumerate(rows[1:], start=2):
        case = row[0].strip() if row else ""
        if len(row) != len(header):
            problems.append(
                Problem(
                    case or None,
                    "bad_row",
                    f"line {line_no}: {len(row)} values, expected {len(header)}",
                )
            )
            continue
        if case not in wanted:
            problems.append(
                Problem(case or None, "extra_case", f"line {line_no}: unknown case {case!r}")
            )
            continue
        if case in seen:
            problems.append(
                Problem(case, "duplicate_case", f"line {line_no}: case {case} repeated")
            )
            continue
        seen.add(case)
        for j, name in enumerate(class_names):
            cell = row[column_of[name]].strip()
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0 or value > 1:
                problems.append(
                    Problem(
                        case,
                        "bad_number",
                        f"line {line_no}: {name} = {cell!r} is not a probability between 0 and 1",
                    )
                )
                continue
            scores[wanted[case], j] = value
    for case in cases:
        if case not in seen:
            problems.append(Problem(case, "missing_case", f"no prediction for case {case}"))
    if problems:
        raise ClassificationInputError(problems)
    return scores


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    labels = np.asarray(labels)
    return float(np.mean(labels == np.asarray(predicted))) if labels.size else math.nan


def macro_f1(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Mean per-class F1 over classes that occur in the truth or in the predictions."""
    labels = np.asarray(labels)
    predicted = np.asarray(predicted)
    f1s = []
    for k in range(n_classes):
        tp = int(np.sum((predicted == k) & (labels == k)))
        fp = int(np.sum((predicted == k) & (labels != k)))
        fn = int(np.sum((predicted != k) & (labels == k)))
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else math.nan


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC: P(score of a positive > score of a negative), ties counting 1/2."""
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(positive.sum())
    n_neg = int(positive.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(scores.size, dtype=np.float64)
    # average ranks (1-based) over tied runs
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [scores.size]))
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    rank_sum = ranks[positive].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def macro_auc(labels: np.ndarray, scores: np.ndarray) -> tuple[float, int]:
    """(mean one-vs-rest AUC over classes with positives and negatives, classes skipped)."""
    aucs = []
    skipped = 0
    for k in range(scores.shape[1]):
        auc = binary_auc(labels == k, scores[:, k])
        if math.isnan(auc):
            skipped += 1
        else:
            aucs.append(auc)
    return (float(np.mean(aucs)) if aucs else math.nan), skipped


def score_classification(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """accuracy, macro_f1, macro_auc (+ auc_classes_skipped) for one set of cases."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = np.argmax(scores, axis=1) if len(labels) else np.array([], dtype=np.int64)
    auc, skipped = macro_auc(labels, scores) if len(labels) else (math.nan, 0)
    return {
        "accuracy": accuracy(labels, predicted),
        "macro_f1": macro_f1(labels, predicted, scores.shape[1]),
        "macro_auc": auc,
        "auc_classes_skipped": float(skipped),
    }


def predicted_classes(scores: np.ndarray) -> np.ndarray:
    return np.argmax(np.asarray(scores), axis=1)


# --------------------------------------------------------------------------------------------
# Whole submissions (truth folder with cases.csv + a predictions CSV, folder or archive)


#: The columns of a classification truth set's cases.csv.
TRUTH_COLUMNS = ("case", "site", TRUTH_COLUMN)


def read_truth_table(truth_root: Path) -> list[tuple[str, str, str]]:
    """(case, site, class) rows of a classification truth set's cases.csv (a TruthSetError
    when it is missing, unreadable or lacks a column)."""
    return _table(read_cases_csv(truth_root, required=TRUTH_COLUMNS))


def _table(rows: list[CasesRow]) -> list[tuple[str, str, str]]:
    return [(row.values["case"], row.values["site"], row.values[TRUTH_COLUMN]) for row in rows]


def check_classification_truth(
    truth_root: Path, class_names: Sequence[str]
) -> list[tuple[str, str, str]]:
    """The (case, site, class) rows of a classification truth set, every defect reported at
    once in a TruthSetError.

    Such a set is cases.csv alone: its truth is the `class` column, so there are no label
    images and no pixel spacing (`TruthSet.load`, which demands both, does not apply).
    """
    root = Path(truth_root)
    rows = read_cases_csv(root, required=TRUTH_COLUMNS)
    problems: list[str] = []
    seen: set[str] = set()
    for row in rows:
        case, site, name = (row.values[c] for c in TRUTH_COLUMNS)
        where = f"cases.csv line {row.number}" + (f" (case {case})" if case else "")
        if row.overlong:
            problems.append(f"{where}: more values than columns")
        if not case:
            problems.append(f"{where}: empty case id")
        elif case in seen:
            problems.append(f"{where}: duplicate case {case!r}")
        seen.add(case)
        if not site:
            problems.append(f"{where}: empty site")
        if name not in class_names:
            problems.append(f"{where}: class {name!r} is not one of {list(class_names)}")
    if not rows:
        problems.append("cases.csv lists no cases")
    if problems:
        raise TruthSetError(root, problems)
    return _table(rows)


def _find_csv(folder: Path) -> Path:
    if folder.is_file():
        return folder
    found = sorted(
        p for p in folder.rglob("*.csv") if not any(part.startswith(".") for part in p.parts)
    )
    if len(found) != 1:
        what = "no CSV file" if not found else f"{len(found)} CSV files"
        raise ClassificationInputError(
            [Problem(None, "bad_submission", f"expected one predictions CSV, found {what}")]
        )
    return found[0]


def _load_submission(task, truth_root: Path, predictions: Path):
    table = read_truth_table(truth_root)
    cases, labels = read_truth_classes([(c, k) for c, _, k in table], task.class_names)
    sites = [s for _, s, _ in table]
    predictions = Path(predictions)
    try:
        if predictions.is_file() and predictions.name.lower().endswith(".csv"):
            scores = read_probabilities(predictions, cases, task.class_names)
        else:
            with unpacked(predictions) as folder:
                scores = read_probabilities(_find_csv(Path(folder)), cases, task.class_names)
    except ArchiveError as exc:
        raise ClassificationInputError(
            [Problem(None, "bad_archive", f"{predictions.name}: {exc}")]
        ) from None
    return cases, sites, labels, scores


def validate_classification(task, truth_root: Path, predictions: Path):
    """A ValidationReport for a classification submission (all problems at once)."""
    try:
        cases, _, _, _ = _load_submission(task, truth_root, predictions)
    except ClassificationInputError as exc:
        return ValidationReport(exc.problems, {}, None)
    return ValidationReport([], dict.fromkeys(cases, Path(predictions)), None)


def _set_level_summary(labels, scores, statistic: str, n_bootstrap: int, seed: int) -> dict:
    """Summary whose mean is the statistic on all cases, with a percentile-bootstrap CI."""
    n = len(labels)
    value = score_classification(labels, scores)[statistic] if n else math.nan
    low = high = math.nan
    if n and n_bootstrap > 0 and math.isfinite(value):
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, n, size=(n_bootstrap, n))
        samples = np.array([score_classification(labels[d], scores[d])[statistic] for d in draws])
        samples = samples[np.isfinite(samples)]
        if samples.size:
            low, high = np.percentile(samples, [2.5, 97.5])
    finite = math.isfinite(value)
    return {
        "mean": value if finite else None,
        "std": None,
        "median": None,
        "ci95_low": float(low) if finite and math.isfinite(low) else None,
        "ci95_high": float(high) if finite and math.isfinite(high) else None,
        "n": n,
        "n_nan": 0,
    }


def score_classification_submission(
    task, truth_root: Path, predictions: Path, *, n_bootstrap: int = 1000
) -> dict:
    """Results document (schema 1) for a classification task.

    Per case: `correct` (0/1) and `p_true` (the probability given to the true class). Per site
    and overall: the per-case summaries plus set-level `accuracy`, `macro_f1` and `macro_auc`
    (mean = the statistic on those cases; std and median null; CI by percentile bootstrap).
    """
    try:
        cases, sites, labels, scores = _load_submission(task, truth_root, predictions)
    except ClassificationInputError as exc:
        raise InvalidSubmission(ValidationReport(exc.problems, {}, None)) from None
    predicted = predicted_classes(scores) if len(cases) else np.array([], dtype=np.int64)
    results_cases = [
        {
            "case": case,
            "site": site,
            "flags": [],
            "metrics": {
                "classification": {
                    "correct": float(predicted[i] == labels[i]),
                    "p_true": float(scores[i, labels[i]]),
                }
            },
        }
        for i, (case, site) in enumerate(zip(cases, sites, strict=True))
    ]
    site_array = np.array(sites)
    set_level: dict[str, dict[str, dict[str, dict]]] = {}
    for site in ["all", *dict.fromkeys(sites)]:
        rows = np.arange(len(cases)) if site == "all" else np.flatnonzero(site_array == site)
        set_level[site] = {
            "classification": {
                statistic: _set_level_summary(
                    labels[rows], scores[rows], statistic, n_bootstrap, BOOTSTRAP_SEED
                )
                for statistic in CLASSIFICATION_STATISTICS
            }
        }
    return build_results(
        task,
        results_cases,
        input_digests(truth_root, predictions),
        n_bootstrap=n_bootstrap,
        extra_aggregates=set_level,
    )


#: Set-level statistics a task may list in `metrics`, with their direction.
CLASSIFICATION_METRICS: dict[str, bool] = {"accuracy": True, "macro_f1": True, "macro_auc": True}
CLASSIFICATION_STATISTICS = tuple(CLASSIFICATION_METRICS)
#: Per-case values a classification result also carries (their means are what the set-level
#: statistics summarise): whether the arg-max class was right, the true class's probability.
CLASSIFICATION_CASE_METRICS: dict[str, bool] = {"correct": True, "p_true": True}


class ClassificationScorer(Scorer):
    """A CSV of class probabilities per case."""

    name = "classification"
    kind = CLASSIFICATION
    metrics = CLASSIFICATION_METRICS
    extra_metrics = CLASSIFICATION_CASE_METRICS

    def metric_paths(self, task) -> list[str]:
        return [f"classification.{m}" for m in (*task.metrics, *CLASSIFICATION_CASE_METRICS)]

    def validate(self, task, truth_root: Path, predictions: Path):
        return validate_classification(task, truth_root, predictions)

    def score(self, task, truth_root, predictions, *, workers, progress, n_bootstrap):
        del workers, progress  # one CSV: nothing to spread over processes
        return score_classification_submission(
            task, truth_root, predictions, n_bootstrap=n_bootstrap
        )


SCORER = ClassificationScorer()
