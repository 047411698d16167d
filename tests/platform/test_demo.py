"""The demo content: phantom generator (deterministic, anatomically labelled, per-site looks),
baseline degradations, and the idempotent `seed_demo` command."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from challenges.models import Case, Challenge, Phase, Submission
from demo.baselines import BASELINES, degrade_label_map, write_baseline_zip
from demo.phantom import SITE_STYLES, generate_cases, write_phantom_truth_set
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from evaluator.io.masks import read_label_map
from evaluator.truth import TruthSet


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / max(float(a.sum() + b.sum()), 1.0)


def test_phantoms_are_deterministic_and_independent_of_the_count() -> None:
    first = list(generate_cases("hc18", 2, seed=5))
    again = list(generate_cases("hc18", 3, seed=5))
    other = list(generate_cases("hc18", 2, seed=6))
    assert [c.case_id for c in first] == ["a000", "a001", "b000", "b001", "c000", "c001"]
    for a, b in zip(
        first, [c for c in again if c.case_id in {x.case_id for x in first}], strict=True
    ):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.label, b.label)
    assert not np.array_equal(first[0].image, other[0].image)


def test_hc18_phantom_anatomy() -> None:
    for case in generate_cases("hc18", 3, seed=0):
        assert case.image.dtype == np.uint8 and case.image.shape == case.label.shape
        assert set(np.unique(case.label)) == {0, 1}
        head = case.label == 1
        # Skull rim bright, brain dark: the rim ring outshines the inside of the head.
        inner = head & ~np.pad(head, 4)[8:, 4:-4]  # a band along the lower boundary
        assert case.image[inner].mean() > case.image[head].mean()
        assert 100 < case.hc_mm < 400  # second-trimester-like circumferences
        assert (case.image[:3, :3] == 0).all(), "corners lie outside the fan"


def test_psfhs_phantom_has_symphysis_and_head() -> None:
    for case in generate_cases("psfhs", 2, seed=0):
        values, counts = np.unique(case.label, return_counts=True)
        assert list(values) == [0, 1, 2]
        fraction = dict(zip(values.tolist(), (counts / case.label.size).tolist(), strict=True))
        assert 0.002 < fraction[1] < 0.05 < fraction[2] < 0.45  # small PS, large head
        assert case.hc_mm is None


def test_sites_look_different() -> None:
    means = {}
    for case in generate_cases("hc18", 4, seed=1):
        means.setdefault(case.site, []).append(float(case.image[case.image > 0].mean()))
    names = [s.name for s in SITE_STYLES["hc18"]]
    assert sorted(means) == names
    levels = [np.mean(means[n]) for n in names]
    assert max(levels) - min(levels) > 5  # gain/contrast differ visibly
    spacings = {s.spacing_mm for s in SITE_STYLES["hc18"]}
    assert len(spacings) == 3  # different imaging depth


def test_truth_set_written_in_canonical_layout(tmp_path: Path) -> None:
    truth = write_phantom_truth_set(tmp_path / "t", "hc18", 2, seed=3)
    loaded = TruthSet.load(tmp_path / "t")
    assert len(loaded) == 6 and loaded.sites() == ["site-a", "site-b", "site-c"]
    assert all(c.image_path is not None and c.image_path.is_file() for c in truth.cases)
    assert float(truth.cases[0].extra["hc_mm"]) > 0
    with pytest.raises(ValueError, match="unknown phantom kind"):
        write_phantom_truth_set(tmp_path / "x", "abdomen", 1)


def test_baselines_degrade_by_strategy_and_site(tmp_path: Path) -> None:
    case = next(generate_cases("hc18", 1, seed=0))
    best, worst = BASELINES[0], BASELINES[4]
    rng = np.random.default_rng
    assert best.fine_tuning_strategy == "full" and worst.fine_tuning_strategy == "linear_probe"
    head = case.label == 1
    good = _dice(head, degrade_label_map(case.label, best, rng(0)) == 1)
    bad = _dice(head, degrade_label_map(case.label, worst, rng(0)) == 1)
    harder = _dice(head, degrade_label_map(case.label, best, rng(0), difficulty=3.0) == 1)
    assert 0.95 < good < 1.0 and bad < good and harder < good

    truth = write_phantom_truth_set(tmp_path / "t", "psfhs", 1, seed=0)
    archive = write_baseline_zip(truth, best, tmp_path / "p.zip")
    with zipfile.ZipFile(archive) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f"{c.case}.png" for c in truth.cases)
        pred = read_label_map_bytes(zf.read(names[0]), tmp_path)
    assert set(np.unique(pred)) <= {0, 1, 2}


def read_label_map_bytes(data: bytes, tmp: Path) -> np.ndarray:
    path = tmp / "one.png"
    path.write_bytes(io.BytesIO(data).getvalue())
    return read_label_map(path)


@pytest.mark.django_db
def test_seed_demo_is_idempotent(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("seed_demo", "--cases-per-site", "1", stdout=out)
    text = out.getvalue()
    assert "truth set loaded" in text and "demo ready" in text
    User = get_user_model()
    organiser = User.objects.get(username="organiser")
    assert organiser.is_superuser and organiser.check_password("organiser")
    assert User.objects.get(username="demo").check_password("demo")
    assert sorted(Challenge.objects.values_list("task_name", flat=True)) == ["hc18", "psfhs"]
    assert Phase.objects.count() == 4
    assert Case.objects.count() == 4 * 3
    n_subs = Submission.objects.count()
    assert n_subs == 4 * len(BASELINES)
    strategies = set(Submission.objects.values_list("fine_tuning_strategy", flat=True))
    assert {"full", "decoder_only", "lora", "from_scratch", "linear_probe"} <= strategies
    assert Submission.objects.filter(params_total__isnull=True).count() == 0

    again = io.StringIO()
    call_command("seed_demo", "--cases-per-site", "1", stdout=again)
    assert Submission.objects.count() == n_subs
    assert Phase.objects.count() == 4 and User.objects.filter(username="organiser").count() == 1
    assert "0 new baseline submission(s)" in again.getvalue()

    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--cases-per-site", "0", stdout=io.StringIO())


def test_reference_training_seed_is_not_a_hidden_one() -> None:
    from demo.reference_runs import TRAINING_SEED
    from demo.seed import DEMO_PHASES

    assert TRAINING_SEED not in {seed for _, _, _, seed, _, _ in DEMO_PHASES}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_seed_demo_reference_submits_scored_models_over_http(
    celery_worker, live_server, tmp_path: Path
) -> None:
    """Seeding, then the reference step: models trained on public phantoms (2 steps here),
    uploaded through the API as TorchScript model files with their real parameter counts,
    run and scored by the real worker (validation phase only, to keep the test short); a
    second run neither retrains nor resubmits."""
    from challenges.leaderboards import all_entries_table
    from rest_framework.authtoken.models import Token

    from reference_models.training.checkpoints import load_checkpoint

    call_command("seed_demo", "--only", "hc18-demo", "--cases-per-site", "1", stdout=io.StringIO())
    args = ["--only", "hc18-demo", "--url", live_server.url, "--cache", str(tmp_path / "cache")]
    args += ["--steps", "2", "--train-cases-per-site", "2", "--wait-timeout", "300"]
    args += ["--phase", "validation"]
    out = io.StringIO()
    call_command("seed_demo_reference", *args, stdout=out)
    text = out.getvalue()
    assert "hc18 scratch: training unet-tiny" in text and "psfhs scratch: training" in text
    assert (
        "3 new reference submission(s)" in text and "3 of 3 reference submission(s) scored" in text
    )

    reference = Submission.objects.filter(creator__username="reference").order_by("pk")
    assert reference.count() == 3  # scratch, full, decoder-only
    assert {s.phase.slug for s in reference} == {"validation"}
    assert Token.objects.filter(user__username="reference").exists()
    expected_strategy = {"scratch": "from_scratch", "full": "full", "i": "decoder_only"}
    for sub in reference:
        assert sub.status == Submission.Status.DONE, sub.status_detail
        assert sub.kind == Submission.Kind.MODEL and sub.team.name == "fetalbench reference"
        assert sub.backbone == "unet-tiny"
        key = sub.method_name.split(" strategy ")[1].split(":")[0]
        assert sub.fine_tuning_strategy == expected_strategy[key]
        checkpoint = load_checkpoint(tmp_path / "cache" / f"hc18-{key}" / "model.pt")
        assert sub.params_source == Submission.ParamsSource.MEASURED
        assert sub.params_total == checkpoint["total_parameters"]  # measured from the file
        assert sub.params_trainable == checkpoint["trainable_parameters"]
        assert (key == "i") == (sub.params_trainable < sub.params_total)
        if key != "scratch":
            assert "(from the psfhs-demo model)" in sub.method_name
        dice = sub.evaluations.get(is_current=True).results["aggregates"]["all"]["head"]["dice"]
        assert 0.0 <= dice["mean"] <= 1.0
    phase = reference.first().phase
    team_rows = [
        r for r in all_entries_table(phase).rows if r.participant == "fetalbench reference"
    ]
    assert len(team_rows) == 3 and all(r.score is not None for r in team_rows)

    again = io.StringIO()
    call_command("seed_demo_reference", *args, stdout=again)
    assert "training" not in again.getvalue() and "hc18 full: cached" in again.getvalue()
    assert "0 new reference submission(s), 3 already there" in again.getvalue()
    assert Submission.objects.filter(creator__username="reference").count() == 3
