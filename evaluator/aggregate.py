"""Per-site and overall summaries of per-case metrics, with bootstrap confidence intervals.

Why a bootstrap: leaderboards of a few hundred cases differ by less than their sampling noise;
a 95 % interval per metric lets the platform show whether two teams are really apart.

NaN policy (also in docs/results-schema.md): a summary never silently drops a value. `n`
counts the cases, `n_nan` those whose value is missing or not a finite number (NaN or +-inf);
when `n_nan > 0` the mean, std, median and interval are null (None), because any number would
hide that some cases could not be scored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: Fixed seed: the same submission always gets the same intervals.
BOOTSTRAP_SEED = 20231008
ALL_SITES = "all"
SUMMARY_FIELDS = ("mean", "std", "median", "ci95_low", "ci95_high", "n", "n_nan")


def bootstrap_weights(n: int, n_bootstrap: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """(n_bootstrap, n) counts: how often each case is drawn in each resample.

    Counting draws lets every metric of a group share one matrix product instead of
    re-indexing per metric.
    """
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(n_bootstrap, n))
    offsets = (np.arange(n_bootstrap) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=n_bootstrap * n).reshape(n_bootstrap, n)


def summarize_matrix(
    values: np.ndarray,
    *,
    n_bootstrap: int = 1000,
    seed: int = BOOTSTRAP_SEED,
    weights: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Summaries of each column of an (n_cases, n_metrics) array (NaN = missing).

    `weights` may pass `bootstrap_weights(n_cases, n_bootstrap, seed)` already drawn (they
    depend on nothing else), so that several sites of one size draw them once.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("expected an (n_cases, n_metrics) array")
    n, m = values.shape
    finite = np.isfinite(values)
    n_nan = (~finite).sum(axis=0)
    summaries = [_empty_summary(n, int(n_nan[j])) for j in range(m)]
    clean = np.flatnonzero(n_nan == 0) if n else np.array([], dtype=int)
    if clean.size == 0:
        return summaries
    v = values[:, clean]
    means = v.mean(axis=0)
    stds = v.std(axis=0, ddof=1) if n > 1 else np.zeros(clean.size)
    medians = np.median(v, axis=0)
    if n_bootstrap > 0:
        if weights is None or weights.shape != (n_bootstrap, n):
            weights = bootstrap_weights(n, n_bootstrap, seed)
        # numpy's own loops, not BLAS: a multi-threaded BLAS (OpenBLAS) keeps its threads
        # busy-waiting for ~0.1 s after each call, stealing a core from whatever the scoring
        # process does next, and this product is far too small to gain from threads.
        boot_means = np.einsum("bn,nm->bm", weights.astype(np.float64), v) / n
        lows, highs = np.percentile(boot_means, [2.5, 97.5], axis=0)
    else:
        lows = highs = np.full(clean.size, np.nan)
    for k, j in enumerate(clean):
        summaries[j].update(
            mean=_num(means[k]),
            std=_num(stds[k]),
            median=_num(medians[k]),
            ci95_low=_num(lows[k]),
            ci95_high=_num(highs[k]),
        )
    return summaries


def summarize(
    values: Sequence[float | None], *, n_bootstrap: int = 1000, seed: int = BOOTSTRAP_SEED
) -> dict[str, Any]:
    """Summary of one metric over cases: mean, std, median, ci95_low/high, n, n_nan."""
    column = np.array([[math.nan if v is None else v] for v in values], dtype=np.float64)
    if column.size == 0:
        return _empty_summary(0, 0)
    return summarize_matrix(column, n_bootstrap=n_bootstrap, seed=seed)[0]


def _empty_summary(n: int, n_nan: int) -> dict[str, Any]:
    return {
        "mean": None,
        "std": None,
        "median": None,
        "ci95_low": None,
        "ci95_high": None,
        "n": n,
        "n_nan": n_nan,
    }


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def aggregate_cases(
    cases: Iterable[dict[str, Any]], *, n_bootstrap: int = 1000, seed: int = BOOTSTRAP_SEED
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """{site or "all": {group: {metric: summary}}} from result cases.

    Each case is {"case", "site", "metrics": {group: {metric: value}}}. A metric absent from a
    case that other cases have counts as missing (n_nan) for that case.
    """
    cases = list(cases)
    columns: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for case in cases:
        for group, metrics in case["metrics"].items():
            for metric in metrics:
                if (group, metric) not in seen:
                    seen.add((group, metric))
                    columns.append((group, metric))
    matrix = np.full((len(cases), len(columns)), np.nan)
    for i, case in enumerate(cases):
        for j, (group, metric) in enumerate(columns):
            value = case["metrics"].get(group, {}).get(metric)
            if value is not None:
                matrix[i, j] = value

    sites = sorted({str(c.get("site") or "") for c in cases} - {""})
    selections = {ALL_SITES: np.arange(len(cases))}
    for site in sites:
        if site == ALL_SITES:
            continue  # a site literally named "all" is folded into the overall summary
        selections[site] = np.array(
            [i for i, c in enumerate(cases) if str(c.get("site") or "") == site], dtype=int
        )

    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    weights: dict[int, np.ndarray] = {}  # bootstrap draws by site size (seeded, so shared)
    everything: list[dict[str, Any]] | None = None
    for site, rows in selections.items():
        if site != ALL_SITES and len(rows) == len(cases) and everything is not None:
            # Every case is from this one site: the same rows give the same summaries.
            summaries = [dict(s) for s in everything]
        else:
            n = len(rows)
            if n and n_bootstrap > 0 and n not in weights:
                weights[n] = bootstrap_weights(n, n_bootstrap, seed)
            summaries = summarize_matrix(
                matrix[rows], n_bootstrap=n_bootstrap, seed=seed, weights=weights.get(n)
            )
        if site == ALL_SITES:
            everything = summaries
        by_group: dict[str, dict[str, dict[str, Any]]] = {}
        for (group, metric), summary in zip(columns, summaries, strict=True):
            by_group.setdefault(group, {})[metric] = summary
        out[site] = by_group
    return out
