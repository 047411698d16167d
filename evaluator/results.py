"""The results document: built here (`build_results`, for every scorer), with its schema
version, JSON-safe encoding, checks and metric look-up.

The platform stores these documents and renders leaderboards from them, possibly years after
they were written, so the layout is versioned (`SCHEMA_VERSION`, described field by field in
docs/results-schema.md) and never contains NaN or infinity (not valid JSON): non-finite numbers
become null.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from evaluator import __version__ as EVALUATOR_VERSION
from evaluator.aggregate import aggregate_cases
from evaluator.truth import truth_version

SCHEMA_VERSION = "1"
TOP_LEVEL_KEYS = (
    "schema_version",
    "evaluator_version",
    "task",
    "inputs",
    "n_cases",
    "cases",
    "aggregates",
)


class ResultsError(ValueError):
    """A results document that does not follow the schema."""


def json_safe(value: Any, text: Callable[[Any], str] | None = None) -> Any:
    """Plain JSON types: numpy scalars/arrays unwrapped, NaN and +-inf turned into None, and
    -0.0 written as 0.0.

    Negative zero is a valid float but not a meaningful result (a distance of "-0.0" between
    identical masks reads as a bug, and sorts oddly in some clients); IEEE 754 makes
    `-0.0 == 0.0`, so the test `value == 0` catches it and nothing else changes.

    `text`, when given, rewrites every string and turns any other value JSON does not know
    into a string: the platform stores a run's details with its participant-safe text
    (`challenges.services.messages.participant_text`), so one walk serves both.
    """
    kind = type(value)  # exact-type fast paths: results hold thousands of plain floats
    if kind is float:
        if value == 0.0:
            return 0.0
        return value if math.isfinite(value) else None
    if kind is str:
        return value if text is None else text(value)
    if kind is int or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v, text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v, text) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v, text) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if f == 0.0:
            return 0.0
        return f if math.isfinite(f) else None
    if text is not None:
        return text(value)
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(results: dict[str, Any]) -> str:
    """Strict JSON text (allow_nan=False: a stray NaN is a bug, not output)."""
    return json.dumps(json_safe(results), indent=2, allow_nan=False, sort_keys=False) + "\n"


def write_results(path: Path, results: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(results), encoding="utf-8")
    tmp.replace(path)  # readers never see half a file


def sha256_file(source: Path | str | BinaryIO) -> str:
    """sha256 of a file, streamed in 1 MiB blocks: `source` is a path, or a binary file object
    read from where it stands to its end (an upload the caller has rewound). The project's one
    file hash: results, submissions (`challenges.services.submissions`) and the pretrained
    weights' check (`reference_models.nets.pretrained`) use it."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            return sha256_file(fh)
    digest = hashlib.sha256()
    for block in iter(lambda: source.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def sha256_listing(folder: Path) -> str:
    """Digest of a folder's listing: every file's relative path and size, sorted.

    Identifies what was scored without recording any of it, and without reading every file a
    second time (the scorer decodes each one once).
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        digest.update(f"{rel}\0{path.stat().st_size}\n".encode())
    return digest.hexdigest()


def sha256_inputs(path: Path) -> str:
    path = Path(path)
    return sha256_file(path) if path.is_file() else sha256_listing(path)


def input_digests(truth_root: Path, predictions: Path) -> dict[str, str]:
    """The document's `inputs`: what was scored against what, without recording either."""
    return {
        "predictions_sha256": sha256_inputs(Path(predictions)),
        "truth_cases_sha256": sha256_file(Path(truth_root) / "cases.csv"),
        "truth_version": truth_version(Path(truth_root)),
    }


def build_results(
    task: Any,
    cases: list[dict[str, Any]],
    inputs: dict[str, str],
    *,
    n_bootstrap: int = 1000,
    extra_aggregates: dict[str, dict[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The results document (schema version 1) from scored cases, for every scorer.

    `task` is the `evaluator.tasks.Task` scored (its `to_dict()` is recorded). The per-site
    summaries of every per-case metric come from `aggregate_cases`; a scorer whose set-level
    statistics are not means of per-case values (classification's accuracy, macro F1, AUC)
    passes them as `extra_aggregates` ({site: {group: {metric: summary}}}), added after the
    per-case summaries of their group. Each part is made JSON-safe once (the cases are the
    bulk of the document).
    """
    cases = json_safe(sorted(cases, key=lambda c: c["case"]))
    aggregates = aggregate_cases(cases, n_bootstrap=n_bootstrap)
    for site, groups in (extra_aggregates or {}).items():
        for group, metrics in groups.items():
            aggregates.setdefault(site, {}).setdefault(group, {}).update(metrics)
    return {
        **json_safe(
            {
                "schema_version": SCHEMA_VERSION,
                "evaluator_version": EVALUATOR_VERSION,
                "task": task.to_dict(),
                "inputs": inputs,
                "n_cases": len(cases),
            }
        ),
        "cases": cases,
        "aggregates": json_safe(aggregates),
    }


def validate_results(doc: Any) -> None:
    """Raise ResultsError when `doc` does not follow schema version 1 (structure, not values)."""
    if not isinstance(doc, dict):
        raise ResultsError("results must be a JSON object")
    missing = [k for k in TOP_LEVEL_KEYS if k not in doc]
    if missing:
        raise ResultsError(f"missing key(s): {missing}")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise ResultsError(f"schema_version {doc['schema_version']!r} is not {SCHEMA_VERSION!r}")
    task = doc["task"]
    if not isinstance(task, dict) or not isinstance(task.get("name"), str):
        raise ResultsError("task must be an object with a name")
    if not isinstance(doc["cases"], list):
        raise ResultsError("cases must be a list")
    names = [c.get("case") if isinstance(c, dict) else None for c in doc["cases"]]
    if names != sorted(names, key=str) or len(set(names)) != len(names):
        raise ResultsError("cases must be unique and sorted by case id")
    for case in doc["cases"]:
        if set(case) != {"case", "site", "flags", "metrics"}:
            raise ResultsError(f"case {case.get('case')!r} must have case, site, flags, metrics")
        for group, metrics in case["metrics"].items():
            for metric, value in metrics.items():
                if value is not None and not isinstance(value, (int, float)):
                    raise ResultsError(f"{case['case']}: {group}.{metric} is not a number")
    if doc["n_cases"] != len(doc["cases"]):
        raise ResultsError("n_cases does not match the number of cases")
    aggregates = doc["aggregates"]
    if not isinstance(aggregates, dict) or "all" not in aggregates:
        raise ResultsError("aggregates must hold at least the 'all' site")
    for site, groups in aggregates.items():
        for group, metrics in groups.items():
            for metric, summary in metrics.items():
                missing = {"mean", "std", "median", "ci95_low", "ci95_high", "n", "n_nan"} - set(
                    summary
                )
                if missing:
                    raise ResultsError(
                        f"aggregates.{site}.{group}.{metric} lacks {sorted(missing)}"
                    )


def lookup_metric(results: dict[str, Any], metric_path: str, site: str = "all") -> float | None:
    """The mean of "group.metric" over a site's cases (None when missing or undefined)."""
    group, _, metric = metric_path.rpartition(".")
    summary = results.get("aggregates", {}).get(site, {}).get(group, {}).get(metric)
    return None if summary is None else summary.get("mean")
