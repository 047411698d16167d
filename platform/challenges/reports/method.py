"""The assessment method in words, from a phase's configuration and its stored analysis.

A challenge paper must say how entries were assessed (the BIAS statement's "Assessment
method" section: metrics and why, how values become ranks, missing data, ties, the
statistics). The report writes that section from what the platform actually ran, so it
cannot drift from the configuration: the task's metrics, the phase's ranking metrics,
ranking method and entry selection, and the stored analysis's missing-value policy, test,
adjustment, alpha, bootstrap size and seed.

``BIAS_ITEMS`` lists the reporting items of the BIAS statement (Maier-Hein et al., "BIAS:
Transparent reporting of biomedical image analysis challenges", Medical Image Analysis 66,
101796, 2020) this report can fill from the platform's data, and those it cannot (the
organisers add them to the paper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from challenges.leaderboards.materialise import ranking_criteria
from challenges.models import Phase
from evaluator.metric_spec import MetricSpec, UnknownMetric
from evaluator.statistics.methods import METHODS, get_method
from evaluator.tasks import metric_paths

#: Why each metric is used, by its name after the class ("head.hd95" -> "hd95").
METRIC_REASONS: dict[str, str] = {
    "dice": "overlap of the predicted and reference regions, 2|P∩R|/(|P|+|R|); the standard "
    "overlap score for segmenting a large, compact structure such as the fetal head "
    "(Metrics Reloaded, Maier-Hein et al., Nat Methods 2024)",
    "iou": "intersection over union (Jaccard), a monotone transform of Dice, reported for "
    "comparison with work that uses it",
    "hd": "Hausdorff distance in mm, the largest boundary error; sensitive to a single stray "
    "region, which overlap scores hardly notice",
    "hd95": "95th percentile of the boundary distances of both directions pooled, in mm: the "
    "boundary error without the few most extreme points",
    "hd95_max": "the larger of the two directed 95th-percentile boundary distances, in mm (the "
    "HD95 most challenge papers use)",
    "assd": "average symmetric surface distance in mm: the typical boundary error",
    "masd": "mean of the two directed average surface distances in mm, each direction "
    "weighted equally",
    "nsd": "normalised surface Dice: the share of both boundaries within a tolerance in mm; "
    "Metrics Reloaded recommends it for boundary quality where small errors do not matter",
    "boundary_iou": "Boundary IoU (Cheng et al., CVPR 2021): overlap of the regions near the "
    "two boundaries, sensitive to boundary quality on large objects",
    "hc_abs_diff_mm": "absolute difference of the head circumference measured on the "
    "prediction and on the reference, in mm: the clinical biometry (the HC18 challenge's "
    "ranking metric)",
    "hc_diff_mm": "signed head circumference difference in mm (prediction minus reference): "
    "shows a systematic over- or under-estimate",
}


@dataclass(frozen=True)
class MetricLine:
    path: str
    label: str
    direction: str  # "higher is better", "lower is better", "a measurement"
    reason: str
    ranking: bool


@dataclass
class Method:
    """The assessment method of one phase, as sentences and lists a template lays out."""

    task: str
    metrics: list[MetricLine] = field(default_factory=list)
    aggregation: list[str] = field(default_factory=list)
    ranking: list[str] = field(default_factory=list)
    other_methods: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    ties: list[str] = field(default_factory=list)
    statistics: list[str] = field(default_factory=list)


def _direction(spec: MetricSpec) -> str:
    if spec.higher_is_better is None:
        return "a measurement (no better side)"
    return "higher is better" if spec.higher_is_better else "lower is better"


def _reason(spec: MetricSpec) -> str:
    return METRIC_REASONS.get(spec.name, "reported as the evaluator computes it (docs/metrics.md)")


def _scorer(phase: Phase) -> tuple[str, list[str], str]:
    """(task words, the task's metric paths, its scorer) for the phase's challenge."""
    try:
        task = phase.challenge.get_task()
    except Exception:  # noqa: BLE001 - an unknown task still gets a report
        return phase.challenge.task_name, [], "standard"
    words = f"{task.title or task.name} ({task.name}, {task.kind}; classes: "
    words += ", ".join(task.class_names) + ")"
    return words, metric_paths(task), task.scorer


def _missing_sentence(metric: Mapping[str, Any]) -> str:
    missing = metric.get("missing") or {}
    name = metric.get("name", "")
    count = missing.get("n_missing", 0)
    if missing.get("policy") == "fixed":
        rule = f"counted as {missing.get('worst')} (the metric's worst value)"
    else:
        rule = "counted as the worst value any entry has on that case"
    return f"{name}: a missing or failed case is {rule}; {count} such value(s) on this board."


def assessment_method(phase: Phase, payload: Mapping[str, Any] | None) -> Method:
    """The phase's assessment method; ``payload`` is the all-cases board's stored analysis
    (its missing-value counts and statistics settings), None before the first analysis."""
    task_words, paths, scorer = _scorer(phase)
    method = Method(task=task_words)
    criteria = ranking_criteria(phase)
    ranking_paths = [c.path for c in criteria]
    for spec in criteria:
        method.metrics.append(
            MetricLine(
                spec.path, f"{spec.group} {spec.label}", _direction(spec), _reason(spec), True
            )
        )
    for path in paths:
        if path in ranking_paths:
            continue
        try:
            spec = MetricSpec.of(path, scorer)
        except UnknownMetric:
            continue
        method.metrics.append(
            MetricLine(path, f"{spec.group} {spec.label}", _direction(spec), _reason(spec), False)
        )

    method.aggregation = [
        "Each submission is scored case by case against the hidden reference labels; a "
        "board's value of a metric is its mean over the board's cases (all cases, or one "
        "acquisition site's), shown with a 95% percentile bootstrap confidence interval "
        "over the cases.",
        "A board per acquisition site ranks the same entries on that site's cases only.",
    ]
    phase_method = get_method(phase.ranking_method)
    selection = phase.get_entry_selection_display().lower()
    method.ranking = [
        f"Ranking method: {phase.get_ranking_method_display()}. {phase_method.description}",
        f"Metrics ranked: {', '.join(ranking_paths)} (the first is the primary metric, which "
        "the statistics below use).",
        f"Entries: each team's {selection} on the board.",
    ]
    method.other_methods = [f"{m.label}: {m.description}" for m in METHODS.values()]
    payload = payload or {}
    method.missing = [
        "Paired comparisons use every case of the board: a case an entry did not submit, or "
        "that failed to score, is counted at the metric's worst value rather than dropped, "
        "so leaving out hard cases never helps (challengeR's na.treat; Wiesenfarth et al., "
        "Sci Rep 2021)."
    ] + [_missing_sentence(m) for m in payload.get("metrics") or []]
    method.ties = [
        "Ranks are competition ranks: entries with equal scores share the best of their "
        "places and the next place is skipped (1, 1, 3).",
        "Two entries are marked statistically tied when their 95% bootstrap rank intervals "
        "overlap and the Holm-adjusted one-sided Wilcoxon test is significant in neither "
        "direction.",
    ]
    significance = payload.get("significance") or {}
    alpha = significance.get("alpha", payload.get("alpha", 0.05))
    boot = payload.get("bootstrap") or {}
    method.statistics = [
        f"Significance: one-sided Wilcoxon signed-rank tests of every ordered pair of entries "
        f"on the paired per-case values of the primary metric "
        f"({payload.get('primary_metric', ranking_paths[0] if ranking_paths else '')}), "
        f"Holm-adjusted over all {significance.get('family_size', 'n(n-1)')} ordered pairs at "
        f"alpha = {alpha} (Wilcoxon 1945; Holm 1979).",
        f"Rank uncertainty: {boot.get('n_bootstrap', payload.get('n_bootstrap', 1000)):,} "
        f"bootstrap resamples of the cases (with replacement, seed "
        f"{boot.get('seed', payload.get('seed', '–'))}), the board ranked by "
        f"{(payload.get('rankings') or {}).get(payload.get('method'), {}).get('label', 'its method').lower()} "
        "in each; per entry the median rank and the 95% interval (2.5th to 97.5th "
        "percentile) (Wiesenfarth et al., Sci Rep 2021).",
        "Agreement between ranking methods: Kendall's tau-b between the rankings every pair of "
        "methods gives (Kendall 1938, 1945; Maier-Hein et al., Nat Commun 2018).",
        "Per-case ranks: the entries ranked on each case; their histogram is the podium heat map.",
    ]
    if payload.get("bootstrap_note"):
        method.statistics.append(f"No bootstrap on this board: {payload['bootstrap_note']}.")
    return method


@dataclass(frozen=True)
class BiasItem:
    section: str
    item: str
    where: str  # where this report covers it, or "" when it cannot


#: BIAS statement items (Maier-Hein et al., Med Image Anal 2020), by checklist section, with
#: where this report covers each; "" means the platform has no data for it.
BIAS_ITEMS: Sequence[BiasItem] = (
    BiasItem("Challenge organisation", "Challenge name and acronym", "Title"),
    BiasItem("Challenge organisation", "Platform used to run the challenge", "Manifest"),
    BiasItem("Challenge organisation", "Submission method and format", "Assessment method"),
    BiasItem("Challenge organisation", "Challenge schedule (phase dates)", "Summary"),
    BiasItem(
        "Challenge organisation",
        "Organising team, ethics approval, data usage agreement, conflicts of interest",
        "",
    ),
    BiasItem("Mission", "Task category and target structures", "Assessment method: task"),
    BiasItem("Mission", "Field of application, cohorts, imaging modality", ""),
    BiasItem("Data sets", "Data-acquisition centres (sites) and cases per site", "Summary"),
    BiasItem("Data sets", "Definition of a case; number of test cases", "Summary"),
    BiasItem("Data sets", "Annotation instructions, annotators, annotation aggregation", ""),
    BiasItem("Data sets", "Version of the test set (reference labels)", "Manifest"),
    BiasItem(
        "Assessment method", "Metric(s) and their justification", "Assessment method: metrics"
    ),
    BiasItem(
        "Assessment method",
        "Rank computation (aggregation, ranking method)",
        "Assessment method: ranking",
    ),
    BiasItem("Assessment method", "Handling of missing data", "Assessment method: missing data"),
    BiasItem("Assessment method", "Handling of ties", "Assessment method: ties"),
    BiasItem(
        "Assessment method",
        "Statistical methods, incl. ranking robustness and uncertainty",
        "Assessment method: statistics; Results",
    ),
    BiasItem("Results", "Number of teams and submissions", "Summary"),
    BiasItem("Results", "Metric values and rankings", "Results: ranking tables"),
    BiasItem(
        "Results",
        "Ranking variability (bootstrap, significance, ranking methods)",
        "Results: plots per board",
    ),
    BiasItem("Results", "Results per acquisition site", "Results: site boards; ranks per site"),
    BiasItem(
        "Results",
        "Description of the participating methods",
        "Summary: entries (method, backbone, fine-tuning, size, paper and code links); "
        "describe the methods themselves in the paper",
    ),
    BiasItem(
        "Reproducibility",
        "Software versions, seeds, code availability",
        "Manifest; Summary: the entries' code links where their teams gave them",
    ),
)
