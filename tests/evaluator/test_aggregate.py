"""Aggregation: summaries, NaN policy, per-site grouping, bootstrap determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluator.aggregate import aggregate_cases, bootstrap_weights, summarize


def test_summary_values() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0])
    assert s["mean"] == 2.5 and s["median"] == 2.5 and s["n"] == 4 and s["n_nan"] == 0
    assert s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert 1.0 <= s["ci95_low"] <= 2.5 <= s["ci95_high"] <= 4.0


def test_single_case_and_empty() -> None:
    one = summarize([0.7])
    assert one["mean"] == one["ci95_low"] == one["ci95_high"] == 0.7 and one["std"] == 0.0
    empty = summarize([])
    assert empty["mean"] is None and empty["n"] == 0


def test_nan_makes_the_summary_null_and_is_counted() -> None:
    s = summarize([1.0, math.nan, math.inf, None])
    assert s["mean"] is None and s["ci95_low"] is None and s["median"] is None
    assert s["n"] == 4 and s["n_nan"] == 3


def test_bootstrap_is_deterministic_and_a_true_resample() -> None:
    values = list(np.random.default_rng(1).normal(size=57))
    assert summarize(values) == summarize(values)
    w = bootstrap_weights(57, 200)
    assert w.shape == (200, 57) and (w.sum(axis=1) == 57).all()
    # A reference loop over the same draws gives the same interval.
    rng = np.random.default_rng(20231008)
    draws = rng.integers(0, 57, size=(1000, 57))
    means = np.asarray(values)[draws].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    s = summarize(values)
    assert s["ci95_low"] == pytest.approx(lo) and s["ci95_high"] == pytest.approx(hi)


def test_per_site_and_all() -> None:
    cases = [
        {"case": "a", "site": "x", "metrics": {"head": {"dice": 0.9}}},
        {"case": "b", "site": "x", "metrics": {"head": {"dice": 0.7}}},
        {"case": "c", "site": "y", "metrics": {"head": {"dice": 0.5, "hd": 3.0}}},
    ]
    agg = aggregate_cases(cases, n_bootstrap=100)
    assert set(agg) == {"all", "x", "y"}
    assert agg["x"]["head"]["dice"]["mean"] == pytest.approx(0.8)
    assert agg["all"]["head"]["dice"]["mean"] == pytest.approx(0.7)
    # hd is missing for two cases: counted, not dropped
    assert agg["all"]["head"]["hd"]["n_nan"] == 2 and agg["all"]["head"]["hd"]["mean"] is None
    assert agg["y"]["head"]["hd"]["mean"] == 3.0
