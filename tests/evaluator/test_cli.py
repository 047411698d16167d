"""`python -m evaluator` in a subprocess, as organisers and the platform run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.metrics.segmentation import score_class
from evaluator.results import SCHEMA_VERSION, validate_results
from evaluator.truth import TruthSet
from tests.evaluator.hc18_submissions import make_hc18_release, write_submission, zip_folder

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "evaluator", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def truth(tmp_path_factory: pytest.TempPathFactory) -> TruthSet:
    base = tmp_path_factory.mktemp("cli")
    release = make_hc18_release(base / "release", 8)
    done = run_cli("import-hc18", str(release), str(base / "truth"))
    assert done.returncode == 0, done.stderr
    return TruthSet.load(base / "truth")


def test_score_writes_schema_v1_results(truth: TruthSet, tmp_path: Path) -> None:
    arrays = write_submission(truth, tmp_path / "sub")
    archive = zip_folder(tmp_path / "sub", tmp_path / "submission.zip")
    out = tmp_path / "results.json"
    done = run_cli(
        "score", "--task", "hc18", "--truth", str(truth.root), "--predictions", str(archive),
        "--out", str(out), "--workers", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "scoring" in done.stderr  # the progress bar goes to stderr
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    results = json.loads(text)
    validate_results(results)
    assert results["schema_version"] == SCHEMA_VERSION
    assert results["task"]["name"] == "hc18"
    assert results["n_cases"] == len(truth.cases)
    by_case = truth.by_case()
    for entry in results["cases"]:
        case = by_case[entry["case"]]
        expected = score_class(arrays[case.case], read_label_map(case.label_path), case.spacing)
        assert entry["metrics"]["head"]["dice"] == pytest.approx(expected.metrics["dice"])
        assert entry["metrics"]["head"]["hd95"] == pytest.approx(expected.metrics["hd95"])
        assert entry["metrics"]["head"]["hc_ref_mm"] == pytest.approx(float(case.extra["hc_mm"]))


def test_invalid_submission_exits_1_listing_every_problem(truth: TruthSet, tmp_path: Path) -> None:
    write_submission(truth, tmp_path / "sub")
    first, second = truth.cases[0].case, truth.cases[1].case
    for path in (tmp_path / "sub").rglob(f"{first}.*"):
        path.unlink()
    for path in (tmp_path / "sub").rglob(f"{second}.*"):
        write_label_map(path, np.zeros((7, 9), np.uint8))
    args = ["--task", "hc18", "--truth", str(truth.root), "--predictions", str(tmp_path / "sub")]
    done = run_cli("score", *args, "--out", str(tmp_path / "r.json"))
    assert done.returncode == 1
    assert f"{first} missing_case" in done.stderr and f"{second} wrong_shape" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r.json").exists()
    validated = run_cli("validate", *args)
    assert validated.returncode == 1
    assert first in validated.stdout and second in validated.stdout


def test_validate_ok_tasks_and_bad_task(truth: TruthSet, tmp_path: Path) -> None:
    write_submission(truth, tmp_path / "sub")
    args = ["--truth", str(truth.root), "--predictions", str(tmp_path / "sub")]
    assert run_cli("validate", "--task", "hc18", *args).returncode == 0
    listed = run_cli("tasks")
    assert listed.returncode == 0 and "psfhs2023" in listed.stdout
    bad = run_cli("validate", "--task", "nope", *args)
    assert bad.returncode == 1 and "unknown task 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr
