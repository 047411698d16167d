"""Ranks, the missing-value policy, per-case ranks and the ranking methods of
evaluator/statistics, each on small boards checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.statistics import (
    METHODS,
    Board,
    case_ranks,
    competition_ranks,
    default_worst,
    fill_missing,
    get_method,
    method_choices,
    rank_histogram,
)


def ranks_by_counting(values: list[float | None], higher_is_better: bool) -> list[int]:
    """The platform's definition, one comparison per pair: 1 + the number of strictly
    better values; missing values share the rank after every present one."""
    present = [v for v in values if v is not None]
    out = []
    for v in values:
        if v is None:
            out.append(len(present) + 1)
        else:
            better = [o for o in present if (o > v if higher_is_better else o < v)]
            out.append(1 + len(better))
    return out


def test_competition_ranks_share_the_lowest_rank_and_skip() -> None:
    assert competition_ranks([0.9, 0.8, 0.8, 0.7], higher_is_better=True).tolist() == [1, 2, 2, 4]
    assert competition_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3, 1, 3, 2]
    assert competition_ranks([np.nan, 5.0, np.nan, 1.0]).tolist() == [3, 2, 3, 1]
    assert competition_ranks([np.nan, np.nan], higher_is_better=True).tolist() == [1, 1]
    assert competition_ranks(np.zeros(0)).tolist() == []
    assert competition_ranks([np.inf, 1.0, np.inf]).tolist() == [2, 1, 2]


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_competition_ranks_equal_counting_row_by_row(higher_is_better: bool) -> None:
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 6, (200, 25)).astype(float)
    rows[rng.random(rows.shape) < 0.1] = np.nan
    ranked = competition_ranks(rows, higher_is_better)  # every row at once
    for row, got in zip(rows, ranked, strict=True):
        values = [None if np.isnan(v) else float(v) for v in row]
        assert got.tolist() == ranks_by_counting(values, higher_is_better)


def test_bounded_metrics_count_a_missing_case_as_their_bound() -> None:
    assert default_worst("head.dice") == 0.0 and default_worst("iou") == 0.0
    assert default_worst("head.hd95") is None
    filled = fill_missing([[0.9, np.nan], [0.8, 0.7]], higher_is_better=True, worst=0.0)
    assert filled.values.tolist() == [[0.9, 0.0], [0.8, 0.7]]
    assert filled.to_dict() == {"policy": "fixed", "worst": 0.0, "n_missing": 1}


def test_unbounded_metrics_count_a_missing_case_as_its_worst_observed_value() -> None:
    hd95 = [
        [2.0, np.nan, 9.0, np.nan],
        [3.0, 4.0, np.nan, np.nan],
        [np.nan, 6.0, 1.0, np.nan],
    ]
    filled = fill_missing(hd95, higher_is_better=False)
    # per case the largest distance observed; a case nobody has: the board's largest (9)
    assert filled.values.tolist() == [
        [2.0, 6.0, 9.0, 9.0],
        [3.0, 4.0, 9.0, 9.0],
        [3.0, 6.0, 1.0, 9.0],
    ]
    assert filled.to_dict() == {"policy": "observed", "worst": None, "n_missing": 6}
    dice = fill_missing([[0.9, np.nan], [0.5, 0.7]], higher_is_better=True)
    assert dice.values.tolist() == [[0.9, 0.7], [0.5, 0.7]]
    assert fill_missing([[np.nan]], higher_is_better=True).values.tolist() == [[0.0]]


def test_board_uses_the_bound_unless_the_caller_says_otherwise() -> None:
    values = {"head.dice": [[0.9, np.nan], [0.5, 0.6]], "head.hd95": [[1.0, np.nan], [2.0, 3.0]]}
    directions = {"head.dice": True, "head.hd95": False}
    board = Board.from_values(values, directions)
    assert board.values["head.dice"].tolist() == [[0.9, 0.0], [0.5, 0.6]]
    assert board.values["head.hd95"].tolist() == [[1.0, 3.0], [2.0, 3.0]]
    chosen = Board.from_values(values, directions, worst={"head.dice": None, "head.hd95": 50.0})
    assert chosen.values["head.dice"].tolist() == [[0.9, 0.6], [0.5, 0.6]]
    assert chosen.values["head.hd95"].tolist() == [[1.0, 50.0], [2.0, 3.0]]
    assert chosen.missing["head.hd95"] == {"policy": "fixed", "worst": 50.0, "n_missing": 1}


def test_a_missing_case_never_helps() -> None:
    """Skipping the hardest case must not lift an entry above one that attempted it."""
    values = np.array([[0.9, 0.9, 0.2], [0.9, 0.9, np.nan], [0.8, 0.8, 0.8]])
    board = Board.from_values({"dice": values}, {"dice": True})
    for name in METHODS:
        ranks = get_method(name).rank(board).ranks
        assert ranks[1] >= ranks[0], name


def test_board_checks_its_input() -> None:
    with pytest.raises(ValueError, match="same entries x cases"):
        Board.from_values({"a": np.zeros((2, 3)), "b": np.zeros((2, 4))}, {"a": True, "b": True})
    with pytest.raises(ValueError, match="direction"):
        Board.from_values({"a": np.zeros((2, 3))}, {})
    with pytest.raises(ValueError, match="primary"):
        Board.from_values({"a": np.zeros((2, 3))}, {"a": True}, primary="b")
    with pytest.raises(ValueError, match="unknown ranking method"):
        get_method("best_guess")


def test_case_ranks_and_their_histogram() -> None:
    values = np.array([[0.9, 0.5, 0.7], [0.8, 0.5, 0.9], [0.1, 0.6, 0.2]])
    ranks = case_ranks(values, higher_is_better=True)
    assert ranks.tolist() == [[1, 2, 2], [2, 2, 1], [3, 1, 3]]
    # entry x rank: how many cases each entry took each rank on
    assert rank_histogram(ranks).tolist() == [[1, 2, 0], [1, 2, 0], [1, 0, 2]]


# A board where the methods disagree (Maier-Hein et al., Nat Commun 2018): A is best on
# three cases and fails the fourth, B is steady, C is steadily a little worse than B.
#   means:            A 0.675, B 0.800, C 0.700  -> aggregate mean:  B 1, C 2, A 3
#   medians:          A 0.900, B 0.800, C 0.700  -> aggregate median: A 1, B 2, C 3
#   per-case ranks:   A 1,1,1,3  B 2,2,2,1  C 3,3,3,2
#   mean case ranks:  A 1.5,  B 1.75, C 2.75      -> rank-then-aggregate: A 1, B 2, C 3
DISAGREE = np.array(
    [
        [0.9, 0.9, 0.9, 0.0],
        [0.8, 0.8, 0.8, 0.8],
        [0.7, 0.7, 0.7, 0.7],
    ]
)


def test_aggregate_then_rank_and_rank_then_aggregate_disagree() -> None:
    board = Board.from_values({"dice": DISAGREE}, {"dice": True})
    mean = get_method("aggregate_mean").rank(board)
    np.testing.assert_allclose(mean.scores, [0.675, 0.8, 0.7])
    assert mean.ranks.tolist() == [3, 1, 2]
    median = get_method("aggregate_median").rank(board)
    np.testing.assert_allclose(median.scores, [0.9, 0.8, 0.7])
    assert median.ranks.tolist() == [1, 2, 3]
    rank_first = get_method("rank_then_aggregate").rank(board)
    assert rank_first.scores.tolist() == [1.5, 1.75, 2.75]
    assert rank_first.ranks.tolist() == [1, 2, 3]
    assert not rank_first.score_higher_is_better


def test_aggregate_then_rank_follows_the_metric_direction() -> None:
    hd95 = np.array([[3.0, 5.0], [1.0, 2.0], [3.0, 5.0]])
    board = Board.from_values({"hd95": hd95}, {"hd95": False})
    assert get_method("aggregate_mean").rank(board).ranks.tolist() == [2, 1, 2]
    assert get_method("primary").rank(board).ranks.tolist() == [2, 1, 2]  # the platform's name


def test_test_then_rank_counts_significant_wins_and_shares_equal_wins() -> None:
    # 20 cases, no ties: A beats B beats C by a clear margin on every case (exact one-sided
    # p = 2^-20 ~ 1e-6, Holm over 12 ordered pairs still ~1e-5); D repeats C exactly.
    rng = np.random.default_rng(0)
    c = rng.uniform(0.5, 0.7, 20)
    values = np.stack([c + 0.2 + rng.uniform(0, 0.01, 20), c + 0.1, c, c])
    board = Board.from_values({"dice": values}, {"dice": True})
    ranking = get_method("test_then_rank").rank(board)
    assert ranking.scores.tolist() == [3.0, 2.0, 0.0, 0.0]
    assert ranking.ranks.tolist() == [1, 2, 3, 3]
    assert board.significance.significant[0, 1] and not board.significance.significant[1, 0]


def test_mean_of_per_metric_ranks() -> None:
    # dice ranks: A 1, B 2, C 3; hd95 ranks: A 3, B 1, C 2 -> means 2, 1.5, 2.5
    values = {
        "dice": np.array([[0.9, 0.9], [0.8, 0.8], [0.7, 0.7]]),
        "hd95": np.array([[9.0, 9.0], [1.0, 1.0], [5.0, 5.0]]),
    }
    board = Board.from_values(values, {"dice": True, "hd95": False})
    ranking = get_method("mean_rank").rank(board)
    assert ranking.scores.tolist() == [2.0, 1.5, 2.5]
    assert ranking.ranks.tolist() == [2, 1, 3]
    single = Board.from_values({"dice": DISAGREE}, {"dice": True})
    assert (
        get_method("mean_rank").rank(single).ranks.tolist()
        == get_method("aggregate_mean").rank(single).ranks.tolist()
    )


def test_the_registry_offers_every_method_with_a_label() -> None:
    assert [name for name, _ in method_choices()] == [
        "aggregate_mean",
        "aggregate_median",
        "rank_then_aggregate",
        "test_then_rank",
        "mean_rank",
    ]
    for method in METHODS.values():
        described = method.to_dict()
        assert described["label"] and described["description"].endswith(".")
