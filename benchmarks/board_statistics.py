"""Benchmark: the leaderboard statistics (evaluator/statistics) at challenge size.

    python benchmarks/board_statistics.py [--repeat 3] [--out benchmarks/board_statistics.md]

Synthetic boards like a real phase's: per entry a skill, per case a difficulty, per entry and
case noise; Dice in [0, 1] (rounded to 4 decimals, as stored) and HD95 in mm, 1% of cases
missing. Times are the best of ``--repeat`` runs, in wall-clock seconds and in CPU seconds of
this process (``time.process_time``: on a shared machine CPU time hardly moves with other
jobs' load), and as ratios against an anchor measured in the same run: one ``np.argsort``
along the cases of the same entries x cases Dice matrix.

1. The issue's target: the full analysis (``analyse_board``: missing-value policy, every
   ranking method, 1,000 bootstrap resamples of the chosen method, all-pairs one-sided
   Wilcoxon + Holm, ties, Kendall's tau between methods, per-case ranks, and the JSON
   document) for 100 entries x 700 cases (the PSFHS 2023 final test size) x 4 boards, per
   chosen method, and where the time goes (``BoardAnalysis.timings``).
2. The parts at 10, 100 and 1,000 entries (700 cases): those that grow with entries x cases
   or entries^2 only; rankings and bootstraps each on a fresh ``Board`` (missing-value policy
   and per-case ranks included, nothing cached). The all-pairs tests grow with entries^2 x cases (499,500 pairs at
   1,000 entries) and are measured at 10 and 100; at 1,000 one block of them is timed and
   scaled.
3. Competition ranking of 1,000 values: sorting (this package) against counting better values
   (the platform's current O(n^2) ``competition_ranks``, re-implemented here as it is).

Nothing here is asserted: tests check correctness, this file only measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from evaluator.statistics import (  # noqa: E402
    METHODS,
    Board,
    analyse_board,
    bootstrap_ranks,
    case_ranks,
    competition_ranks,
    get_method,
    kendall_tau_b,
    significance,
)
from evaluator.statistics.methods import TEST_BOOTSTRAP_MAX_WORK  # noqa: E402
from evaluator.statistics.wilcoxon import wilcoxon_greater  # noqa: E402

CASES = 700
BOARDS = 4
N_BOOTSTRAP = 1000
DIRECTIONS = {"head.dice": True, "head.hd95": False}


def synthetic_board(entries: int, cases: int, seed: int) -> dict[str, np.ndarray]:
    """Dice and HD95 of ``entries`` entries on ``cases`` shared cases, 1% missing."""
    rng = np.random.default_rng(seed)
    skill = rng.normal(0.0, 0.03, (entries, 1))
    difficulty = rng.normal(0.0, 0.05, (1, cases))
    noise = rng.normal(0.0, 0.04, (entries, cases))
    dice = np.round(np.clip(0.88 + skill + difficulty + noise, 0.0, 1.0), 4)
    hd95 = np.round(np.maximum(0.0, 3.0 + 40.0 * (0.9 - dice) + rng.gamma(2.0, 0.5, dice.shape)), 2)
    missing = rng.random(dice.shape) < 0.01
    dice[missing] = np.nan
    hd95[missing] = np.nan
    return {"head.dice": dice, "head.hd95": hd95}


def best_of(repeat: int, function: Callable[[], object]) -> tuple[float, float, object]:
    """(best wall seconds, CPU seconds of that run, result)."""
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, result


def anchor_seconds(matrix: np.ndarray, repeat: int) -> float:
    """One np.argsort along the cases of an entries x cases matrix (best of many)."""
    wall, _, _ = best_of(max(repeat, 5), lambda: np.argsort(matrix, axis=1))
    return wall


def ranks_by_counting(values: list[float | None], higher_is_better: bool) -> list[int]:
    """The platform's challenges.leaderboards.ranking.competition_ranks, as it is."""
    present = [v for v in values if v is not None]
    ranks = []
    for value in values:
        if value is None:
            ranks.append(len(present) + 1)
        elif higher_is_better:
            ranks.append(1 + sum(1 for other in present if other > value))
        else:
            ranks.append(1 + sum(1 for other in present if other < value))
    return ranks


def full_analysis(repeat: int) -> tuple[list[str], dict]:
    """Section 1: 4 boards of 100 x 700, each method chosen in turn."""
    boards = [synthetic_board(100, CASES, seed) for seed in range(BOARDS)]
    anchor = anchor_seconds(boards[0]["head.dice"], repeat)
    entries = list(range(100))
    cases = [f"case_{i:03d}" for i in range(CASES)]
    lines = [
        "| chosen method | wall s (4 boards) | CPU s | wall / anchor | JSON kB per board | "
        "where the time goes (wall s, 4 boards; parts of 0.01 s and more) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    summary = {}
    for method in METHODS:
        parts: dict[str, float] = {}

        def run(method: str = method, parts: dict[str, float] = parts) -> int:
            parts.clear()
            size = 0
            for seed, values in enumerate(boards):
                analysis = analyse_board(
                    values, DIRECTIONS, entries, cases, method=method, seed=seed
                )
                started = time.perf_counter()
                size += len(json.dumps(analysis.to_dict(), allow_nan=False))
                analysis.timings["to_dict + json"] = time.perf_counter() - started
                for name, seconds in analysis.timings.items():
                    parts[name] = parts.get(name, 0.0) + seconds
            return size

        wall, cpu, size = best_of(repeat, run)
        shown = sorted(parts.items(), key=lambda item: -item[1])
        where = ", ".join(f"{name} {seconds:.2f}" for name, seconds in shown if seconds >= 0.01)
        lines.append(
            f"| {method} | {wall:.2f} | {cpu:.2f} | {wall / anchor:,.0f} | "
            f"{size / BOARDS / 1000:,.0f} | {where} |"
        )
        summary[method] = {"wall": wall, "cpu": cpu, "parts": dict(parts)}
        print(lines[-1], flush=True)
    lines.append("")
    lines.append(
        f"Anchor: one `np.argsort` of the 100 x {CASES} Dice matrix, {anchor * 1e3:.2f} ms."
    )
    note = analyse_board(
        boards[0], DIRECTIONS, entries, cases, method="test_then_rank"
    ).bootstrap_note
    lines.append(
        f"test_then_rank: its bootstrap is skipped at this size ({note}); its board ranking, "
        "the significance map and the ties are computed."
    )
    return lines, summary


def parts_by_size(repeat: int) -> list[str]:
    """Section 2: the parts at 10, 100 and 1,000 entries."""
    lines = [
        "| part | 10 entries | 100 entries | 1,000 entries |",
        "| --- | ---: | ---: | ---: |",
    ]
    rows: dict[str, list[str]] = {}
    anchors = []
    for entries in (10, 100, 1000):
        values = synthetic_board(entries, CASES, seed=entries)
        board = Board.from_values(values, DIRECTIONS)
        anchor = anchor_seconds(values["head.dice"], repeat)
        anchors.append(anchor)

        def cell(seconds: float, anchor: float = anchor) -> str:
            return f"{seconds * 1e3:,.1f} ms ({seconds / anchor:,.1f}x)"

        measured: dict[str, float] = {}
        measured["missing-value policy, 2 metrics"] = best_of(
            repeat, lambda values=values: Board.from_values(values, DIRECTIONS)
        )[0]
        measured["per-case ranks (entries x cases)"] = best_of(
            repeat, lambda board=board: case_ranks(board.values["head.dice"], True)
        )[0]
        for name in ("aggregate_mean", "aggregate_median", "rank_then_aggregate", "mean_rank"):
            method = get_method(name)
            # A fresh Board each run: its cached per-case ranks must not carry over.
            measured[f"rank: {name}"] = best_of(
                repeat,
                lambda method=method, values=values: method.rank(
                    Board.from_values(values, DIRECTIONS)
                ),
            )[0]
            measured[f"bootstrap x{N_BOOTSTRAP}: {name}"] = best_of(
                repeat,
                lambda method=method, values=values: bootstrap_ranks(
                    Board.from_values(values, DIRECTIONS), method, N_BOOTSTRAP, 0
                ),
            )[0]
        ranks = competition_ranks(board.values["head.dice"].mean(axis=1), True)
        other = competition_ranks(np.median(board.values["head.dice"], axis=1), True)
        measured["Kendall tau-b, one pair of rankings"] = best_of(
            repeat, lambda ranks=ranks, other=other: kendall_tau_b(ranks, other)
        )[0]
        if entries <= 100:
            measured["all-pairs Wilcoxon + Holm"] = best_of(
                repeat, lambda board=board: significance(board.values["head.dice"], True)
            )[0]
        else:
            # 499,500 pairs: time the first 20,000 pairs' tests and scale by the pair count.
            oriented = board.oriented()
            first, second = np.triu_indices(entries, 1)
            block = oriented[first[:20000]] - oriented[second[:20000]]
            seconds = best_of(1, lambda block=block: wilcoxon_greater(block))[0]
            measured["all-pairs Wilcoxon + Holm"] = seconds * first.size / 20000
        for name, seconds in measured.items():
            text = cell(seconds)
            if entries == 1000 and name == "all-pairs Wilcoxon + Holm":
                text += " (scaled)"
            rows.setdefault(name, []).append(text)
    for name, cells in rows.items():
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Anchors (one `np.argsort` of the entries x 700 Dice matrix): "
        + ", ".join(f"{a * 1e3:.2f} ms" for a in anchors)
        + " at 10, 100, 1,000 entries."
    )
    return lines


def test_then_rank_bootstrap(repeat: int) -> list[str]:
    """How large a board's test-then-rank is still bootstrapped, and what it costs."""
    lines = [
        "| board | pairs x cases x samples | wall s | CPU s |",
        "| --- | ---: | ---: | ---: |",
    ]
    method = get_method("test_then_rank")
    for entries, cases in ((8, CASES), (20, 120), (50, 20)):
        values = synthetic_board(entries, cases, seed=entries)
        board = Board.from_values(values, DIRECTIONS)
        work = method.bootstrap_work(board, N_BOOTSTRAP)
        wall, cpu, _ = best_of(
            max(1, repeat // 2), lambda board=board: bootstrap_ranks(board, method, N_BOOTSTRAP, 0)
        )
        lines.append(f"| {entries} x {cases} | {work:,} | {wall:.2f} | {cpu:.2f} |")
    lines.append("")
    lines.append(
        f"Budget: test-then-rank is bootstrapped up to {TEST_BOOTSTRAP_MAX_WORK:,} "
        "pair-case-samples (`methods.TEST_BOOTSTRAP_MAX_WORK`); above it the analysis says so "
        "in `bootstrap_note` and gives no intervals for that method (10 x 700 is 31,500,000)."
    )
    return lines


def ranking_1000(repeat: int) -> list[str]:
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(0.85, 0.05, 1000), 3)
    listed = [float(v) for v in values]
    counting, _, slow = best_of(repeat, lambda: ranks_by_counting(listed, True))
    sorting, _, fast = best_of(max(repeat, 5), lambda: competition_ranks(values, True))
    assert list(fast) == slow
    return [
        f"1,000 values (3 decimals, ties): counting {counting * 1e3:.1f} ms, sorting "
        f"{sorting * 1e3:.3f} ms ({counting / sorting:,.0f}x faster), same ranks.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "board_statistics.md"))
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Linux, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__}; load average {load:.1f} at the "
        f"start, other jobs sharing the machine"
    )
    print(machine, flush=True)
    section1, summary = full_analysis(args.repeat)
    section2 = parts_by_size(args.repeat)
    section3 = test_then_rank_bootstrap(args.repeat)
    section4 = ranking_1000(args.repeat)
    default = summary["aggregate_mean"]
    slowest = max(summary.values(), key=lambda s: s["wall"])
    report = [
        "# Leaderboard statistics: cost at challenge size",
        "",
        f"Generated by `benchmarks/board_statistics.py --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d')} ({machine}). Best of {args.repeat} runs; wall-clock "
        "and CPU seconds of this process; ratios against one `np.argsort` of the same "
        "matrix measured in the same run. Synthetic Dice + HD95 boards, 1% of cases missing.",
        "",
        "## 1. The full analysis: 100 entries x 700 cases x 1,000 bootstrap samples x 4 boards",
        "",
        "Target (issue 12): at most 10 s on this 2-core machine. With the default method "
        f"(aggregate mean) it took {default['wall']:.2f} s wall ({default['cpu']:.2f} s CPU); "
        f"the slowest choice {slowest['wall']:.2f} s.",
        "",
        *section1,
        "",
        "## 2. The parts at 10, 100 and 1,000 entries (700 cases, one board)",
        "",
        *section2,
        "",
        "## 3. Test-then-rank bootstrap",
        "",
        *section3,
        "",
        "## 4. Competition ranks: sorting against counting",
        "",
        *section4,
        "",
    ]
    Path(args.out).write_text("\n".join(report), encoding="utf-8")
    print("\n".join(section2 + [""] + section3 + [""] + section4))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
