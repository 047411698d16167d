"""Bootstrap rank intervals, statistical ties and analyse_board, the one entry point the
platform calls per board."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluator.statistics import (
    METHODS,
    SCHEMA_VERSION,
    Board,
    analyse_board,
    bootstrap,
    bootstrap_ranks,
    competition_ranks,
    get_method,
    tied_pairs,
    tied_with,
)
from evaluator.statistics.resample import (
    indices_from_counts,
    resample_counts,
    resampled_medians,
)


def skilled_board(seed: int, entries: int = 6, cases: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.80, 0.90, entries)[:, None]
    return np.clip(
        skill + rng.normal(0, 0.05, (1, cases)) + rng.normal(0, 0.04, (entries, cases)), 0, 1
    )


def test_resamples_are_reproducible_by_seed() -> None:
    counts = resample_counts(50, 200, seed=3)
    assert counts.shape == (200, 50) and (counts.sum(axis=1) == 50).all()
    assert np.array_equal(counts, resample_counts(50, 200, seed=3))
    assert not np.array_equal(counts, resample_counts(50, 200, seed=4))


@pytest.mark.parametrize("cases", [1, 2, 9, 50, 701])
def test_resampled_medians_equal_numpy_on_each_resample(cases: int) -> None:
    rng = np.random.default_rng(cases)
    values = np.round(rng.normal(size=(7, cases)), 1)  # ties within and across entries
    counts = resample_counts(cases, 30, seed=2)
    medians = resampled_medians(values, counts)
    for sample in range(30):
        expected = np.median(values[:, indices_from_counts(counts[sample])], axis=1)
        assert np.array_equal(medians[sample], expected), sample


@pytest.mark.parametrize("name", sorted(METHODS))
def test_each_resampled_ranking_equals_ranking_the_resample(name: str) -> None:
    """The vectorised bootstrap (counts, matrix products, weighted medians) gives the ranks
    the method gives on each resample's explicit copy of the data."""
    values = np.round(skilled_board(1, entries=5, cases=24), 2)  # rounded: ties occur
    hd95 = np.round(20 * (1 - values) + skilled_board(2, entries=5, cases=24), 1)
    board = Board.from_values({"dice": values, "hd95": hd95}, {"dice": True, "hd95": False})
    method = get_method(name)
    ranks = bootstrap_ranks(board, method, n_bootstrap=25, seed=9)
    counts = resample_counts(24, 25, seed=9)
    for sample in range(25):
        columns = indices_from_counts(counts[sample])
        resampled = Board(
            values={m: v[:, columns] for m, v in board.values.items()},
            higher_is_better=board.higher_is_better,
            primary=board.primary,
        )
        assert ranks[sample].tolist() == method.rank(resampled).ranks.tolist(), sample


def test_identical_entries_stay_tied_in_every_resample() -> None:
    values = skilled_board(3, entries=8, cases=333)
    values[5] = values[2]
    board = Board.from_values({"dice": values}, {"dice": True})
    for name in ("aggregate_mean", "aggregate_median", "rank_then_aggregate", "mean_rank"):
        ranks = bootstrap_ranks(board, get_method(name), 300, seed=0)
        assert np.array_equal(ranks[:, 5], ranks[:, 2]), name


def test_bootstrap_intervals_reproducible_by_seed_and_different_across_seeds() -> None:
    board = Board.from_values({"dice": skilled_board(4)}, {"dice": True})
    method = get_method("aggregate_mean")
    first, _ = bootstrap(board, method, 1000, seed=11)
    again, _ = bootstrap(board, method, 1000, seed=11)
    other, _ = bootstrap(board, method, 1000, seed=12)
    assert first is not None and again is not None and other is not None
    for field in ("median", "low", "high", "frequencies"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    assert not np.array_equal(first.frequencies, other.frequencies)
    assert (first.frequencies.sum(axis=1) == 1000).all()
    assert (first.low <= first.median).all() and (first.median <= first.high).all()
    ranks = bootstrap_ranks(board, method, 1000, seed=11)
    np.testing.assert_array_equal(first.low, np.percentile(ranks, 2.5, axis=0))
    np.testing.assert_array_equal(first.high, np.percentile(ranks, 97.5, axis=0))


def test_test_then_rank_bootstraps_small_boards_only() -> None:
    board = Board.from_values({"dice": skilled_board(5, entries=4, cases=30)}, {"dice": True})
    method = get_method("test_then_rank")
    intervals, note = bootstrap(board, method, 50, seed=0)
    assert intervals is not None and note is None
    counts = resample_counts(30, 50, seed=0)
    resampled = board.values["dice"][:, indices_from_counts(counts[7])]
    again = Board.from_values({"dice": resampled}, {"dice": True})
    assert bootstrap_ranks(board, method, 50, 0)[7].tolist() == method.rank(again).ranks.tolist()
    skipped, note = bootstrap(board, method, 50, seed=0, max_test_work=1000)
    assert skipped is None and "not bootstrapped" in note


def tied_board() -> tuple[np.ndarray, list[str]]:
    """A clearly best entry, two entries the data cannot separate, and a clearly worst one,
    on 80 shared cases."""
    rng = np.random.default_rng(21)
    base = rng.uniform(0.70, 0.80, 80)
    twin = base + rng.normal(0.0, 0.01, 80)
    values = np.stack(
        [
            base + 0.10 + rng.uniform(0, 0.005, 80),  # best: better on every case
            base,
            twin,  # ~ base: wins some cases, loses others
            base - 0.10 - rng.uniform(0, 0.005, 80),  # worst on every case
        ]
    )
    return values, ["best", "steady", "twin", "worst"]


def test_statistically_tied_pair_is_flagged_and_a_clearly_better_entry_is_not() -> None:
    values, ids = tied_board()
    analysis = analyse_board({"dice": values}, {"dice": True}, ids, list(range(80)), seed=1)
    assert analysis.ties == [(1, 2)]
    rows = {row["entry"]: row for row in analysis.rows()}
    assert rows["steady"]["tied_with"] == ["twin"] and rows["twin"]["tied_with"] == ["steady"]
    assert rows["best"]["tied_with"] == [] and rows["worst"]["tied_with"] == []
    assert rows["best"]["rank"] == 1 and rows["best"]["rank_low"] == rows["best"]["rank_high"] == 1
    assert rows["steady"]["rank_low"] <= 2 and rows["steady"]["rank_high"] >= 3
    assert analysis.significance.significant[0, 1:].all()  # best beats everyone


def test_tie_rule_needs_overlap_and_no_significance() -> None:
    nothing = np.zeros((3, 3), dtype=bool)
    # intervals [1, 1], [2, 3], [2, 3]: only the last two overlap
    assert tied_pairs(nothing, np.array([1.0, 2, 2]), np.array([1.0, 3, 3])) == [(1, 2)]
    significant = nothing.copy()
    significant[2, 1] = True  # overlap, but one direction is significant
    assert tied_pairs(significant, np.array([1.0, 2, 2]), np.array([1.0, 3, 3])) == []
    assert tied_pairs(nothing) == [(0, 1), (0, 2), (1, 2)]  # no intervals: tests decide
    assert tied_with([(0, 2), (1, 2)], 3) == [[2], [2], [0, 1]]


def test_analyse_board_is_json_safe_and_complete() -> None:
    values, ids = tied_board()
    hd95 = 20 * (1 - values)
    values = values.copy()
    values[3, :5] = np.nan  # "worst" failed five cases
    cases = [f"case_{i:03d}" for i in range(80)]
    analysis = analyse_board(
        {"head.dice": values, "head.hd95": hd95},
        {"head.dice": True, "head.hd95": False},
        ids,
        cases,
        method="rank_then_aggregate",
        seed=5,
        n_bootstrap=200,
    )
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["method"] == "rank_then_aggregate" and data["primary_metric"] == "head.dice"
    assert data["entries"] == ids and data["cases"] == cases
    assert data["metrics"][0] == {
        "name": "head.dice",
        "higher_is_better": True,
        "missing": {"policy": "fixed", "worst": 0.0, "n_missing": 5},
    }
    assert set(data["rankings"]) == set(METHODS)
    assert len(data["agreement"]) == len(METHODS) * (len(METHODS) - 1) // 2
    assert data["bootstrap"]["method"] == "rank_then_aggregate"
    assert np.array(data["bootstrap"]["frequencies"]).sum(axis=1).tolist() == [200] * 4
    assert data["significance"]["family_size"] == 12
    assert data["significance"]["pvalues"][0][0] is None  # the diagonal
    assert data["ties"] == [["steady", "twin"]]
    assert np.array(data["podium"]["case_ranks"]).shape == (4, 80)
    assert [row["rank"] for row in data["rows"]] == data["rankings"]["rank_then_aggregate"]["ranks"]
    # the same call gives the same document
    again = analyse_board(
        {"head.dice": values, "head.hd95": hd95},
        {"head.dice": True, "head.hd95": False},
        ids,
        cases,
        method="rank_then_aggregate",
        seed=5,
        n_bootstrap=200,
    )
    assert json.dumps(again.to_dict()) == json.dumps(analysis.to_dict())
    assert analysis.to_dict(include_case_ranks=False)["podium"]["case_ranks"] is None


def test_analyse_board_scores_are_the_per_case_values_aggregated() -> None:
    values, ids = tied_board()
    analysis = analyse_board({"dice": values}, {"dice": True}, ids, list(range(80)), n_bootstrap=10)
    np.testing.assert_allclose(analysis.rankings["aggregate_mean"].scores, values.mean(axis=1))
    np.testing.assert_allclose(
        analysis.rankings["aggregate_median"].scores, np.median(values, axis=1)
    )
    assert analysis.ranking.ranks.tolist() == competition_ranks(values.mean(axis=1), True).tolist()


@pytest.mark.parametrize(("entries", "cases"), [(0, 5), (1, 5), (3, 0), (2, 1)])
def test_analyse_board_degenerate_boards(entries: int, cases: int) -> None:
    values = np.full((entries, cases), 0.5)
    analysis = analyse_board(
        {"dice": values}, {"dice": True}, list(range(entries)), list(range(cases)), n_bootstrap=20
    )
    data = json.loads(json.dumps(analysis.to_dict(), allow_nan=False))
    assert [row["rank"] for row in data["rows"]] == [1] * entries
    if entries == 0 or cases == 0:
        assert data["bootstrap"] is None and data["bootstrap_note"]


def test_analyse_board_rejects_mismatched_ids() -> None:
    with pytest.raises(ValueError, match="entry ids"):
        analyse_board({"dice": np.zeros((2, 3))}, {"dice": True}, [1], [1, 2, 3])
