"""The statistical tests of evaluator/statistics against independent references: every
one-sided Wilcoxon p-value against scipy.stats.wilcoxon called pair by pair, Holm against the
step-down procedure written out, Kendall's tau-b against scipy.stats.kendalltau."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats

from evaluator.statistics import (
    holm,
    kendall_tau_b,
    method_agreement,
    pairwise_wilcoxon,
    significance,
    snapshot_agreement,
    wilcoxon_greater,
)


def scipy_greater(x: np.ndarray, y: np.ndarray) -> float:
    """scipy.stats.wilcoxon(x, y, alternative="greater") with every other argument at
    SciPy's default (zero_method="wilcox", correction=False, method="auto")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns on all-zero differences (NaN result)
        return float(scipy.stats.wilcoxon(x, y, alternative="greater").pvalue)


def board(rng: np.random.Generator, entries: int, cases: int, decimals: int) -> np.ndarray:
    """Entries of different skill on shared cases, rounded so that ties and zero
    differences occur (as they do for Dice on small masks, or HD95 in whole pixels)."""
    skill = rng.normal(0.85, 0.02, entries)[:, None]
    case_difficulty = rng.normal(0.0, 0.05, cases)[None, :]
    noise = rng.normal(0.0, 0.03, (entries, cases))
    return np.round(np.clip(skill + case_difficulty + noise, 0, 1), decimals)


# Case counts that take each of SciPy's paths: exact or permutation (<= 13; SciPy's own
# permutation test takes a second a call at 12 cases, so 7 and 9), exact or normal with ties
# (14..50), normal (> 50).
@pytest.mark.parametrize(
    ("cases", "decimals"), [(7, 2), (9, 1), (20, 6), (30, 2), (50, 2), (51, 6), (120, 2)]
)
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_pairwise_p_values_equal_scipy_pair_by_pair(
    cases: int, decimals: int, higher_is_better: bool
) -> None:
    rng = np.random.default_rng(cases * 10 + decimals)
    values = board(rng, 5, cases, decimals)
    values[3] = values[2]  # an identical pair: every difference zero
    p = pairwise_wilcoxon(values, higher_is_better)
    for i in range(5):
        assert np.isnan(p[i, i])
        for j in range(5):
            if i == j:
                continue
            # "i is better than j": x_i - x_j > 0, or x_j - x_i > 0 when lower is better.
            x, y = (values[i], values[j]) if higher_is_better else (values[j], values[i])
            expected = scipy_greater(x, y)
            if np.isnan(expected):
                assert np.isnan(p[i, j]), (i, j)
            else:
                assert p[i, j] == expected, (i, j, p[i, j], expected)


def test_rows_are_decided_one_by_one_not_for_the_stack() -> None:
    """SciPy vectorised over rows sends every row to the normal approximation once any row
    has a tie; here a tie-free row keeps its exact p-value, as a call on it alone gives."""
    rng = np.random.default_rng(3)
    tie_free = rng.permutation(np.arange(1, 21) * np.where(np.arange(20) % 4 == 0, -1.0, 1.0))
    with_ties = np.round(rng.normal(0.5, 1.0, 20))
    forward, backward = wilcoxon_greater(np.stack([tie_free, with_ties]))
    zeros = np.zeros(20)
    assert forward[0] == scipy_greater(tie_free, zeros)
    assert forward[1] == scipy_greater(with_ties, zeros)
    assert backward[0] == scipy_greater(-tie_free, zeros)
    stacked = scipy.stats.wilcoxon(np.stack([tie_free, with_ties]), alternative="greater", axis=1)
    assert stacked.pvalue[0] != forward[0]  # what the stacked SciPy call would have said


def test_missing_differences_propagate_and_all_zero_rows_follow_scipy() -> None:
    rows = np.array([[np.nan] + [1.0] * 19, [0.0] * 20])
    forward, backward = wilcoxon_greater(rows)
    assert np.isnan(forward[0]) and np.isnan(backward[0])  # nan_policy="propagate"
    # more than 13 differences, all zero: the normal approximation divides 0 by 0
    assert np.isnan(forward[1]) and np.isnan(scipy_greater(rows[1], np.zeros(20)))
    # up to 13: the permutation test, every sign flip as large as the observed sum
    small_forward, _ = wilcoxon_greater(np.zeros((1, 10)))
    assert small_forward[0] == scipy_greater(np.zeros(10), np.zeros(10)) == 1.0


def holm_by_hand(p: list[float], alpha: float) -> list[bool]:
    """Holm (1979) as written: test the smallest p-value at alpha/m, the next at
    alpha/(m - 1), ..., and stop at the first that fails; everything before it is rejected."""
    order = sorted(range(len(p)), key=lambda k: p[k])
    rejected = [False] * len(p)
    for step, k in enumerate(order):
        if p[k] > alpha / (len(p) - step):
            break
        rejected[k] = True
    return rejected


def test_holm_matches_the_textbook_example() -> None:
    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") -> 0.05 0.08 0.09 0.09 0.09
    adjusted = holm([0.01, 0.02, 0.03, 0.04, 0.05])
    np.testing.assert_allclose(adjusted, [0.05, 0.08, 0.09, 0.09, 0.09], rtol=1e-12)
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_holm_decisions_equal_the_step_down_procedure(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.01, 8), rng.uniform(0, 1, 30), [0.004, 0.004]])
    adjusted = holm(p)
    for alpha in (0.01, 0.05, 0.1):
        assert (adjusted <= alpha).tolist() == holm_by_hand(p.tolist(), alpha)
    # adjusted values keep the order of the raw ones and never fall below them
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0) and np.all(adjusted >= p)


def test_holm_leaves_nan_outside_the_family() -> None:
    adjusted = holm(np.array([[np.nan, 0.01], [0.02, np.nan]]))
    assert np.isnan(adjusted[0, 0]) and np.isnan(adjusted[1, 1])
    np.testing.assert_allclose([adjusted[0, 1], adjusted[1, 0]], [0.02, 0.02])


def test_significance_adjusts_over_all_ordered_pairs() -> None:
    rng = np.random.default_rng(7)
    values = board(rng, 6, 80, 3)
    values[5] = values[4]  # identical: undefined test, counted as p = 1
    result = significance(values, higher_is_better=True)
    off = ~np.eye(6, dtype=bool)
    family = np.where(np.isnan(result.pvalues), 1.0, result.pvalues)[off]
    assert result.family_size == 30 == family.size
    np.testing.assert_array_equal(result.adjusted[off], holm(family))
    decisions = holm_by_hand(family.tolist(), 0.05)
    assert result.significant[off].tolist() == decisions
    assert not result.significant[4, 5] and not result.significant[5, 4]
    assert result.wins.tolist() == result.significant.sum(axis=1).tolist()


@pytest.mark.parametrize("n", [2, 3, 7, 40, 300])
def test_kendall_tau_b_equals_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.integers(0, max(2, n // 3), n).astype(float)  # heavy ties
        y = rng.integers(0, max(2, n // 2), n).astype(float)
        expected = scipy.stats.kendalltau(x, y).statistic
        got = kendall_tau_b(x, y)
        if np.isnan(expected):
            assert got is None
        else:
            assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    ranks = np.arange(1, n + 1)
    assert kendall_tau_b(ranks, ranks) == 1.0
    assert kendall_tau_b(ranks, ranks[::-1]) == -1.0


def test_kendall_tau_b_is_undefined_without_variation() -> None:
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None
    assert kendall_tau_b([1], [1]) is None
    with pytest.raises(ValueError):
        kendall_tau_b([1, 2], [1, 2, 3])


def test_method_and_snapshot_agreement() -> None:
    rankings = {"a": [1, 2, 3, 4], "b": [1, 2, 4, 3], "c": [4, 3, 2, 1]}
    assert method_agreement(rankings) == [
        {"a": "a", "b": "b", "tau": pytest.approx(2 / 3)},
        {"a": "a", "b": "c", "tau": -1.0},
        {"a": "b", "b": "c", "tau": pytest.approx(-2 / 3)},
    ]
    previous = {"x": 1, "y": 2, "z": 3, "gone": 4}
    current = {"new": 1, "y": 2, "x": 3, "z": 4}
    result = snapshot_agreement(previous, current)
    assert result["n_common"] == 3
    expected = scipy.stats.kendalltau([2, 1, 3], [2, 3, 4]).statistic
    assert result["tau"] == pytest.approx(expected)
    assert snapshot_agreement({"x": 1}, {"x": 1}) == {"tau": None, "n_common": 1}
