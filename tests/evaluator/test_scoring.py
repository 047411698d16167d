"""Whole-submission scoring on real HC18 and PSFHS cases: per-case values, aggregates, sites,
head circumference, archives, workers and the all-problems-at-once rejection."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from evaluator.io.masks import read_label_map, write_label_map
from evaluator.metrics.biometry import head_circumference_mm
from evaluator.metrics.segmentation import score_class
from evaluator.results import validate_results
from evaluator.scoring import InvalidSubmission, score_arrays, score_submission
from evaluator.tasks import get_task
from evaluator.truth import TruthSet
from tests.evaluator.hc18_submissions import DATA as DATA_ROOT
from tests.evaluator.hc18_submissions import make_hc18_release, write_submission, zip_folder

N_CASES = 12


@pytest.fixture(scope="module")
def hc18_small(tmp_path_factory: pytest.TempPathFactory) -> TruthSet:
    """12 real HC18 cases imported, split into two sites to exercise per-site summaries."""
    from evaluator.importers.hc18 import import_hc18

    base = tmp_path_factory.mktemp("hc18_small")
    release = make_hc18_release(base / "release", N_CASES)
    import_hc18(release, base / "truth", progress=False)
    csv_path = base / "truth" / "cases.csv"
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
        header = list(rows[0])
    for i, row in enumerate(rows):
        row["site"] = "nl_a" if i % 3 else "nl_b"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return TruthSet.load(base / "truth")


def test_hc18_submission_matches_score_class(hc18_small: TruthSet, tmp_path: Path) -> None:
    arrays = write_submission(hc18_small, tmp_path / "sub", values=255)
    archive = zip_folder(tmp_path / "sub", tmp_path / "sub.zip")
    calls: list[tuple[int, int]] = []
    results = score_submission(
        "hc18", hc18_small.root, archive, workers=1, progress=lambda d, t: calls.append((d, t))
    )
    validate_results(results)
    assert calls[-1] == (N_CASES, N_CASES)
    assert [c["case"] for c in results["cases"]] == sorted(c.case for c in hc18_small.cases)
    by_case = hc18_small.by_case()
    for entry in results["cases"]:
        truth = by_case[entry["case"]]
        ref = read_label_map(truth.label_path)
        expected = score_class(arrays[entry["case"]], ref, truth.spacing).metrics
        head = entry["metrics"]["head"]
        for metric, value in expected.items():
            assert head[metric] == pytest.approx(value, rel=1e-12, abs=1e-12), metric
        assert head["hc_ref_mm"] == pytest.approx(float(truth.extra["hc_mm"]))
        hc_pred = head_circumference_mm(arrays[entry["case"]], truth.spacing)
        # measured on the foreground crop: equal up to OpenCV's float32 ellipse fit (< 1e-4 mm)
        assert head["hc_pred_mm"] == pytest.approx(hc_pred, abs=1e-4)
        assert head["hc_abs_diff_mm"] == pytest.approx(abs(hc_pred - head["hc_ref_mm"]), abs=1e-4)
        assert head["hc_diff_mm"] == pytest.approx(hc_pred - head["hc_ref_mm"], abs=1e-4)
        assert entry["site"] == truth.site
    # aggregates: overall and per site, equal to plain means of the per-case values
    assert set(results["aggregates"]) == {"all", "nl_a", "nl_b"}
    for site in ("all", "nl_a", "nl_b"):
        dice = [
            c["metrics"]["head"]["dice"]
            for c in results["cases"]
            if site == "all" or c["site"] == site
        ]
        summary = results["aggregates"][site]["head"]["dice"]
        assert summary["mean"] == pytest.approx(np.mean(dice))
        assert summary["n"] == len(dice) and summary["n_nan"] == 0
        assert summary["ci95_low"] <= summary["mean"] <= summary["ci95_high"]
    assert len(results["inputs"]["predictions_sha256"]) == 64
    assert str(hc18_small.root) not in str(results)  # no truth paths leak into results


def test_two_workers_give_identical_results(hc18_small: TruthSet, tmp_path: Path) -> None:
    """workers=2: this process and a helper share the cases; progress still counts each once."""
    write_submission(hc18_small, tmp_path / "sub")
    one = score_submission("hc18", hc18_small.root, tmp_path / "sub", workers=1, n_bootstrap=200)
    calls: list[tuple[int, int]] = []
    two = score_submission(
        "hc18",
        hc18_small.root,
        tmp_path / "sub",
        workers=2,
        n_bootstrap=200,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert one == two
    done = [d for d, _ in calls]
    assert done == sorted(done) and calls[0] == (0, N_CASES) and calls[-1] == (N_CASES, N_CASES)


def test_a_stalled_helper_never_holds_up_the_end(hc18_small: TruthSet, tmp_path: Path) -> None:
    """The helper is busy elsewhere (a sleep queued first) for the whole run: every case is
    still scored, here, exactly once, and progress counts each case once."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    from evaluator.parallel import _mp_context, run_jobs
    from evaluator.scorers.standard import _Job, _score_job
    from evaluator.validation import discover_predictions

    write_submission(hc18_small, tmp_path / "sub")
    files, _ = discover_predictions(tmp_path / "sub", hc18_small)
    jobs = [_Job(c, files[c.case]) for c in hc18_small.cases]
    task = get_task("hc18")
    calls: list[tuple[int, int]] = []
    with ProcessPoolExecutor(max_workers=1, mp_context=_mp_context()) as pool:
        blocker = pool.submit(time.sleep, 30)
        start = time.perf_counter()
        outcomes = run_jobs(
            _score_job,
            task,
            jobs,
            workers=2,
            progress=lambda d, t: calls.append((d, t)),
            pool=pool,
        )
        elapsed = time.perf_counter() - start
        blocker.cancel()
        for process in list(pool._processes.values()):  # don't wait out the sleep
            process.terminate()
    assert elapsed < 25
    assert sorted(r["case"] for r, _ in outcomes) == sorted(c.case for c in hc18_small.cases)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1] == (N_CASES, N_CASES)


def test_invalid_submission_reports_every_problem(hc18_small: TruthSet, tmp_path: Path) -> None:
    write_submission(hc18_small, tmp_path / "sub")
    cases = hc18_small.cases
    for path in (tmp_path / "sub").rglob(f"{cases[0].case}.*"):
        path.unlink()  # missing
    for path in (tmp_path / "sub").rglob(f"{cases[1].case}.*"):
        write_label_map(path, np.zeros((10, 10), np.uint8))  # wrong shape
    for path in (tmp_path / "sub").rglob(f"{cases[2].case}.*"):
        write_label_map(path, np.full(read_label_map(cases[2].label_path).shape, 7, np.uint8))
    write_label_map(tmp_path / "sub" / "999_HC.png", np.zeros((5, 5), np.uint8))  # extra
    with pytest.raises(InvalidSubmission) as info:
        score_submission("hc18", hc18_small.root, tmp_path / "sub", workers=2)
    found = {(p.case, p.code) for p in info.value.report.problems}
    assert (cases[0].case, "missing_case") in found
    assert (cases[1].case, "wrong_shape") in found
    assert (cases[2].case, "wrong_values") in found
    assert ("999_HC", "extra_file") in found


def test_psfhs_multiclass_and_challenge_scores(psfhs_labels, tmp_path: Path) -> None:
    from evaluator.truth import write_truth_set

    labels = {p.stem: read_label_map(p) for p in psfhs_labels[:6]}
    truth = write_truth_set(
        tmp_path / "truth",
        [(c, "cn", (1.0, 1.0), a, {}) for c, a in labels.items()],
    )
    preds = tmp_path / "preds"
    for i, (case, label) in enumerate(labels.items()):
        write_label_map(preds / f"{case}.png", np.roll(label, i % 3, axis=0))
    standard = score_submission("psfhs", truth.root, preds, workers=1, n_bootstrap=100)
    assert set(standard["cases"][0]["metrics"]) == {"ps", "fh"}
    task = get_task("psfhs")
    case = standard["cases"][1]
    metrics, _ = score_arrays(
        task, np.roll(labels[case["case"]], 1, axis=0), labels[case["case"]], (1.0, 1.0)
    )
    for cls in ("ps", "fh"):
        for metric, value in metrics[cls].items():
            assert case["metrics"][cls][metric] == pytest.approx(value)
    challenge = score_submission("psfhs2023", truth.root, preds, workers=1, n_bootstrap=100)
    assert set(challenge["cases"][0]["metrics"]) == {"ps", "fh", "all", "aop", "challenge"}
    from evaluator.scorers.psfhs2023 import challenge_score

    s = challenge_score([c["metrics"] for c in challenge["cases"]])
    assert challenge["aggregates"]["all"]["challenge"]["score"]["mean"] == pytest.approx(
        s, abs=1e-8
    )


def test_nan_values_become_null_in_json(hc18_small: TruthSet, tmp_path: Path) -> None:
    """An empty prediction has no head circumference: null per case, counted in n_nan."""
    write_submission(hc18_small, tmp_path / "sub")
    first = hc18_small.cases[0].case
    for path in (tmp_path / "sub").rglob(f"{first}.*"):
        write_label_map(
            path, np.zeros(read_label_map(hc18_small.cases[0].label_path).shape, np.uint8)
        )
    results = score_submission("hc18", hc18_small.root, tmp_path / "sub", workers=1, n_bootstrap=50)
    entry = next(c for c in results["cases"] if c["case"] == first)
    assert "head:empty_prediction" in entry["flags"]
    assert entry["metrics"]["head"]["hc_pred_mm"] is None
    summary = results["aggregates"]["all"]["head"]["hc_pred_mm"]
    assert summary["n_nan"] == 1 and summary["mean"] is None
    assert not math.isnan(results["aggregates"]["all"]["head"]["dice"]["mean"])


def test_zero_distances_are_written_as_positive_zero(psfhs_labels, tmp_path: Path) -> None:
    """Identical masks: every zero in the results JSON is 0.0, never -0.0 (psfhs2023's HD
    came out of ITK's signed map as -0.0)."""
    from evaluator.results import dumps, json_safe
    from evaluator.truth import write_truth_set

    labels = {p.stem: read_label_map(p) for p in psfhs_labels[:2]}
    truth = write_truth_set(
        tmp_path / "truth", [(c, "cn", (1.0, 1.0), a, {}) for c, a in labels.items()]
    )
    for case, label in labels.items():
        write_label_map(tmp_path / "preds" / f"{case}.png", label)
    for task in ("psfhs2023", "psfhs"):
        results = score_submission(task, truth.root, tmp_path / "preds", workers=1, n_bootstrap=20)
        assert "-0.0" not in dumps(results)
        for case in results["cases"]:
            for group, metrics in case["metrics"].items():
                for name in ("hd", "asd", "hd95", "assd"):
                    if name in metrics:
                        assert math.copysign(1.0, metrics[name]) == 1.0, (task, group, name)
    assert math.copysign(1.0, json_safe(-0.0)) == 1.0
    assert math.copysign(1.0, json_safe(np.float32(-0.0))) == 1.0
    assert json_safe([-0.0, np.float64(-0.0)]) == [0.0, 0.0]


def _ramanujan_ii(a: float, b: float) -> float:
    """Ramanujan's second approximation of an ellipse's perimeter, written out here (not the
    evaluator's) as the HC18 challenge computes HC from a result row's semi-axes."""
    h = ((a - b) / (a + b)) ** 2
    return math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h)))


def test_ellipse_csv_hc_is_the_rows_own_perimeter_even_outside_the_image(
    hc18_small: TruthSet, tmp_path: Path
) -> None:
    """HC18 result rows for real heads, moved partly or wholly outside the image: the predicted
    HC is the perimeter of the row's semi-axes (mm), not a measure of the clipped raster
    (up to 28.7 mm off when cut by the border; null when nothing is left in the image)."""
    from evaluator.importers.hc18 import outline_ellipse

    sub = tmp_path / "sub"
    write_submission(hc18_small, sub)
    release = DATA_ROOT / "hc18" / "training_set"
    header = "filename,center_x_mm,center_y_mm,semi_axes_a_mm,semi_axes_b_mm,angle_rad"
    rows, axes = [header], {}
    for i, case in enumerate(hc18_small.cases[:4]):
        for path in sub.rglob(f"{case.case}.*"):
            path.unlink()
        shape = read_label_map(case.label_path).shape
        outline = read_label_map(release / f"{case.case}_Annotation.png")
        e = outline_ellipse(outline, case.spacing[0])
        width_mm, height_mm = shape[1] * case.spacing[1], shape[0] * case.spacing[0]
        cx, cy = [
            (e.center_x, e.center_y),  # as annotated
            (0.0, e.center_y),  # cut in half by the left border
            (width_mm + 0.2 * e.semi_axis_b, height_mm * 0.5),  # mostly beyond the right
            (-3 * e.semi_axis_a, -3 * e.semi_axis_a),  # entirely outside
        ][i]
        # semi-axes written in the other order for one row: the CSV allows either
        a, b = (e.semi_axis_b, e.semi_axis_a) if i == 2 else (e.semi_axis_a, e.semi_axis_b)
        rows.append(f"{case.case}.png,{cx!r},{cy!r},{a!r},{b!r},{e.angle_rad!r}")
        axes[case.case] = (a, b)
    (sub / "results.csv").write_text("\r\n".join(rows))
    results = score_submission("hc18", hc18_small.root, sub, workers=1, n_bootstrap=20)
    by_case = {c["case"]: c for c in results["cases"]}
    for case, (a, b) in axes.items():
        head = by_case[case]["metrics"]["head"]
        assert head["hc_pred_mm"] == pytest.approx(_ramanujan_ii(a, b), rel=1e-12, abs=0)
        # the release's own HC for that annotation (the ellipse is only moved)
        assert head["hc_pred_mm"] == pytest.approx(head["hc_ref_mm"], abs=0.1)
        assert head["hc_abs_diff_mm"] is not None and head["hc_abs_diff_mm"] < 0.1
    outside = by_case[hc18_small.cases[3].case]
    assert "head:empty_prediction" in outside["flags"]
    assert "head:hc_not_measurable" not in outside["flags"]
    assert outside["metrics"]["head"]["dice"] == 0.0
    summary = results["aggregates"]["all"]["head"]["hc_abs_diff_mm"]
    assert summary["n_nan"] == 0 and summary["mean"] is not None
