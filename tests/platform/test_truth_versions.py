"""Issue 10 items 1, 3 and 12 (organiser side) on PostgreSQL with the real Celery worker and
real HC18/PSFHS data:

- the truth version is the whole set's content: a corrected label gives a new version, the
  evaluation records the version it was scored against, pages show a notice while a score
  predates the truth, and the organiser's rerun brings it back to current;
- a reload with a site mapping: sites left without cases disappear with their board rows;
- the submission admin page shows the failure reason, the run's summary and log tail,
  measured counts, FLOPs, latency and every evaluation with its truth version and scores;
- a classification truth set (cases.csv only) loads; allowed kinds and ranking metrics are
  chosen from lists in the admin.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from challenges.models import Challenge, Evaluation, LeaderboardEntry, Phase, Site, Submission
from challenges.services.submissions import create_submission
from challenges.services.teams import join_challenge
from challenges.services.truth import load_truth
from django.test import Client

from tests.platform.conftest import make_predictions_zip, upload, wait_for_status, zip_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def organiser_client(make_user):
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


def _correct_one_label(source: Path, out: Path) -> Path:
    """A copy of the truth set with one label changed (the organiser's correction)."""
    from evaluator.io.masks import read_label_map, write_label_map

    shutil.copytree(source, out)
    label_path = sorted((out / "labels").iterdir())[0]
    label = read_label_map(label_path).copy()
    label[:, :4] = 1 - label[:, :4]
    write_label_map(label_path, label)
    return out


def _submit(phase: Phase, user, archive: Path, method: str) -> Submission:
    return create_submission(phase, user, upload(archive), {"method_name": method})


def test_corrected_label_marks_scores_stale_until_rerun(
    celery_worker, make_challenge, make_user, organiser_client, two_site_truth, tmp_path
) -> None:
    organiser = make_user("truth-org", is_staff=True, is_superuser=True)
    challenge, phase = make_challenge(slug="truth-versions", organiser=organiser)
    load_truth(phase, two_site_truth)
    phase.refresh_from_db()
    first_version = phase.truth_version
    assert len(first_version) == 64

    user = make_user("scorer")
    join_challenge(user, challenge, "Scorers")
    preds = make_predictions_zip(two_site_truth, tmp_path / "preds.zip")
    sub = _submit(phase, user, preds, "shifted masks")
    assert wait_for_status(sub.pk).status == Submission.Status.DONE
    evaluation = Evaluation.objects.get(submission=sub, is_current=True)
    assert evaluation.truth_version == first_version

    participant = organiser_client(user)
    board_url = f"/phases/{phase.pk}/leaderboard/"
    page_url = f"/submissions/{sub.pk}/"
    assert 'id="truth-notice"' not in participant.get(board_url).content.decode()
    assert 'id="truth-notice"' not in participant.get(page_url).content.decode()

    # The organiser corrects one label and reloads: cases.csv is byte-identical, yet the
    # version changes (it was a hash of cases.csv only, so the score looked current).
    corrected = _correct_one_label(two_site_truth, tmp_path / "corrected")
    assert (corrected / "cases.csv").read_bytes() == (two_site_truth / "cases.csv").read_bytes()
    load_truth(phase, corrected)
    phase.refresh_from_db()
    assert phase.truth_version not in ("", first_version)

    board = participant.get(board_url).content.decode()
    assert 'id="truth-notice"' in board and "1 score on this board was computed" in board
    page = participant.get(page_url).content.decode()
    assert "This score was computed against an earlier version of the test set" in page
    assert participant.get(f"/phases/{phase.pk}/pareto/").content.decode().count(
        'id="truth-notice"'
    ) == 1
    assert "truth-rerun-link" not in page  # participants get no admin link

    # The organiser sees the count on the phase page and reruns from the admin.
    admin = organiser_client(organiser)
    change = admin.get(f"/admin/challenges/phase/{phase.pk}/change/").content.decode()
    assert "1 submission(s) were scored against an earlier truth set" in change
    assert "rerun-stale-link" in change
    confirm = admin.get(f"/admin/challenges/phase/{phase.pk}/rerun-stale/")
    assert "shifted masks" in confirm.content.decode()
    assert admin.post(f"/admin/challenges/phase/{phase.pk}/rerun-stale/").status_code == 302
    assert wait_for_status(sub.pk).status == Submission.Status.DONE
    evaluations = list(Evaluation.objects.filter(submission=sub).order_by("created_at"))
    assert [e.truth_version for e in evaluations] == [first_version, phase.truth_version]
    assert evaluations[-1].is_current
    assert 'id="truth-notice"' not in participant.get(board_url).content.decode()
    assert 'id="truth-notice"' not in participant.get(page_url).content.decode()

    # The submission's admin page lists both evaluations with their truth versions.
    sub_page = admin.get(f"/admin/challenges/submission/{sub.pk}/change/").content.decode()
    assert f"{first_version[:12]} (earlier than the current {phase.truth_version[:12]}" in sub_page
    assert f"{phase.truth_version[:12]} (current)" in sub_page


def test_reload_with_site_mapping_drops_empty_sites(
    celery_worker, make_challenge, make_user, two_site_truth, tmp_path
) -> None:
    challenge, phase = make_challenge(slug="site-mapping")
    cases = [line.split(",")[0] for line in (two_site_truth / "cases.csv").read_text().split()[1:]]
    # First load: three sites from a mapping (HC18 cases split in two hospitals).
    three = tmp_path / "three.csv"
    three.write_text(
        "case,site\n"
        + "".join(
            f"{c},{'psfhs' if not c.endswith('HC') else ('hc-a' if i % 2 else 'hc-b')}\n"
            for i, c in enumerate(cases)
        )
    )
    load_truth(phase, two_site_truth, site_map=three)
    names = set(Site.objects.filter(challenge=challenge).values_list("name", flat=True))
    assert names == {"hc-a", "hc-b", "psfhs"}

    user = make_user("mapper")
    join_challenge(user, challenge, "Mappers")
    sub = _submit(phase, user, make_predictions_zip(two_site_truth, tmp_path / "p.zip"), "m")
    assert wait_for_status(sub.pk).status == Submission.Status.DONE
    on_board = set(
        LeaderboardEntry.objects.filter(phase=phase, site__isnull=False).values_list(
            "site__name", flat=True
        )
    )
    assert on_board == {"hc-a", "hc-b", "psfhs"}

    # Reload with every HC18 case in one hospital: hc-b has no cases left and disappears,
    # with its leaderboard rows; the board shows no tab for it.
    two = tmp_path / "two.csv"
    two.write_text(
        "case,site\n"
        + "".join(f"{c},{'psfhs' if not c.endswith('HC') else 'hc-a'}\n" for c in cases)
    )
    load_truth(phase, two_site_truth, site_map=two)
    names = set(Site.objects.filter(challenge=challenge).values_list("name", flat=True))
    assert names == {"hc-a", "psfhs"}
    assert not LeaderboardEntry.objects.filter(phase=phase, site__name="hc-b").exists()
    page = Client().get(f"/phases/{phase.pk}/leaderboard/").content.decode()
    assert "hc-b" not in page and "hc-a" in page


def test_admin_submission_page_shows_the_whole_submission(
    celery_worker, make_challenge, make_user, organiser_client, two_site_truth, tmp_path
) -> None:
    organiser = make_user("whole-org", is_staff=True, is_superuser=True)
    challenge, phase = make_challenge(
        slug="whole-view", organiser=organiser, allowed_kinds=["predictions", "model"]
    )
    load_truth(phase, two_site_truth)
    user = make_user("whole-user")
    join_challenge(user, challenge, "Wholes")
    admin = organiser_client(organiser)

    # A failed upload: the reason is on the page, one problem a line.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(zip_bytes({"notes/readme.txt": b"no masks here"}))
    failed = _submit(phase, user, bad, "empty")
    assert wait_for_status(failed.pk).status == Submission.Status.FAILED
    page = admin.get(f"/admin/challenges/submission/{failed.pk}/change/").content.decode()
    assert 'id="status-detail"' in page
    assert "holds no mask files" in page

    # A scored one: headline scores per metric and site, readable (not raw JSON only).
    good = _submit(phase, user, make_predictions_zip(two_site_truth, tmp_path / "g.zip"), "ok")
    assert wait_for_status(good.pk).status == Submission.Status.DONE
    evaluation = Evaluation.objects.get(submission=good, is_current=True)
    dice = evaluation.results["aggregates"]["all"]["head"]["dice"]["mean"]
    page = admin.get(f"/admin/challenges/submission/{good.pk}/change/").content.decode()
    assert f"{dice:.4g}" in page
    assert "head dice · site psfhs" in page and "head dice · site hc18" in page
    assert f"{phase.truth_version[:12]} (current)" in page

    # A model run's summary: status, message, log tail (stderr marked), measured size/speed.
    Submission.objects.filter(pk=good.pk).update(
        kind=Submission.Kind.MODEL,
        params_total=1_234_567,
        params_source=Submission.ParamsSource.MEASURED,
        flops=9_876_543_210,
        latency_ms=12.5,
        inference={
            "status": "crashed",
            "message": "The model process exited with code 1.",
            "log_tail": ["loading weights", "RuntimeError: shape mismatch"],
            "log_streams": ["stdout", "stderr"],
            "wall_seconds": 3.25,
            "exit_code": 1,
            "details": {"format": "onnx"},
        },
    )
    page = admin.get(f"/admin/challenges/submission/{good.pk}/change/").content.decode()
    for text in (
        "The model process exited with code 1.",
        'id="inference-log"',
        "[stderr] RuntimeError: shape mismatch",
        "1,234,567 (1.23 M)",
        "9,876,543,210 (9.88 G)",
        "12.5 ms",
        "3.25 s",
        "Download",
    ):
        assert text in page, text


def test_admin_offers_kinds_and_ranking_metrics_as_choices(
    make_challenge, make_user, organiser_client
) -> None:
    organiser = make_user("choice-org", is_staff=True, is_superuser=True)
    _, phase = make_challenge(slug="choices", organiser=organiser)
    admin = organiser_client(organiser)
    url = f"/admin/challenges/phase/{phase.pk}/change/"
    page = admin.get(url)
    html = page.content.decode()
    assert 'type="checkbox" name="allowed_kinds" value="model"' in html
    assert '<option value="head.hc_abs_diff_mm">head · hc_abs_diff_mm (lower is better)' in html
    assert "head · hc_pred_mm (measurement, ranked ascending)" in html
    assert 'name="ranking_metrics"' not in html  # no raw JSON box any more

    form = page.context["adminform"].form
    data = {"_save": "Save"}
    for field in form:
        value = field.field.prepare_value(field.value())
        if hasattr(field.field.widget, "decompress"):
            parts = field.field.widget.decompress(value) if value else [None, None]
            for i, part in enumerate(parts):
                data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
        elif value is not None:
            data[field.html_name] = value
    data.update(
        allowed_kinds=["predictions", "model"],
        ranking_metric_1="head.dice",
        ranking_metric_2="head.hd95",
    )
    assert admin.post(url, data).status_code == 302
    phase.refresh_from_db()
    assert phase.allowed_kinds == ["predictions", "model"]
    assert phase.ranking_metrics == [
        {"metric": "head.dice"},
        {"metric": "head.hd95"},
    ]
    # Order without gaps, each metric once.
    data.update(ranking_metric_1="", ranking_metric_2="head.hd95")
    refused = admin.post(url, data)
    assert refused.status_code == 200 and "without gaps" in refused.content.decode()


def test_classification_truth_set_loads_and_scores_without_labels(
    celery_worker, make_user, tmp_path
) -> None:
    task = {
        "name": "planes",
        "title": "Standard planes",
        "kind": "classification",
        "classes": [{"name": "head"}, {"name": "abdomen"}, {"name": "femur"}],
        "primary_metric": "classification.macro_f1",
    }
    challenge = Challenge.objects.create(
        slug="planes", title="Planes", task_name="planes", task_spec=task
    )
    phase = Phase.objects.create(challenge=challenge, slug="test", title="Test")
    truth = tmp_path / "planes"
    truth.mkdir()
    rows = [("a", "s1", "head"), ("b", "s1", "abdomen"), ("c", "s2", "femur"), ("d", "s2", "head")]
    (truth / "cases.csv").write_text(
        "case,site,class\n" + "".join(f"{c},{s},{k}\n" for c, s, k in rows)
    )
    assert load_truth(phase, truth) == 4  # no labels/ folder, no spacing columns
    phase.refresh_from_db()
    assert phase.truth_version and phase.cases.get(case_id="c").spacing_row_mm is None
    assert sorted(Site.objects.filter(challenge=challenge).values_list("name", flat=True)) == [
        "s1",
        "s2",
    ]
    user = make_user("planner")
    join_challenge(user, challenge, "Planners")
    preds = tmp_path / "preds.zip"
    preds.write_bytes(
        zip_bytes(
            {
                "preds.csv": b"case,head,abdomen,femur\na,0.8,0.1,0.1\nb,0.2,0.7,0.1\n"
                b"c,0.1,0.1,0.8\nd,0.2,0.6,0.2\n"
            }
        )
    )
    sub = _submit(phase, user, preds, "planes")
    assert wait_for_status(sub.pk).status == Submission.Status.DONE
    evaluation = Evaluation.objects.get(submission=sub)
    assert evaluation.results["aggregates"]["all"]["classification"]["accuracy"]["mean"] == 0.75
    assert evaluation.truth_version == phase.truth_version
