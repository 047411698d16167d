"""Organisers' tools: the admin's load-truth page and actions, management commands, models."""

from __future__ import annotations

import numpy as np
import pytest
from challenges.models import Case, Evaluation, LeaderboardEntry, Phase, Submission, truth_dir
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def truth(tmp_path):
    from evaluator.truth import write_truth_set

    label = np.zeros((16, 16), np.uint8)
    label[4:12, 4:12] = 1
    cases = [(f"c{i}", "north" if i % 2 else "south", (0.3, 0.3), label, {}) for i in range(4)]
    write_truth_set(tmp_path / "truth", cases)
    return tmp_path / "truth"


@pytest.fixture
def admin_client_for(make_user):
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


def test_challenge_snapshots_task(make_challenge) -> None:
    challenge, phase = make_challenge()
    assert challenge.task_spec["name"] == "hc18"
    assert challenge.get_task().class_names == ["head"]
    assert phase.allowed_kinds == ["predictions"] and phase.is_open()


def test_admin_load_truth_page(make_challenge, make_user, admin_client_for, truth) -> None:
    _, phase = make_challenge()
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = admin_client_for(admin)
    url = f"/admin/challenges/phase/{phase.pk}/load-truth/"
    assert client.get(url).status_code == 200
    assert (
        f"{phase.pk}/load-truth/"
        in client.get(f"/admin/challenges/phase/{phase.pk}/change/").content.decode()
    )
    bad = client.post(url, {"source_dir": str(truth / "labels"), "layout": "canonical"})
    assert bad.status_code == 200 and b"cases.csv" in bad.content
    ok = client.post(url, {"source_dir": str(truth), "layout": "canonical"})
    assert ok.status_code == 302
    assert Case.objects.filter(phase=phase).count() == 4
    assert sorted(phase.challenge.sites.values_list("name", flat=True)) == ["north", "south"]
    assert (truth_dir(phase.pk) / "labels" / "c0.png").is_file()


def test_admin_actions(make_challenge, make_user, admin_client_for) -> None:
    challenge, phase = make_challenge()
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = admin_client_for(admin)
    sub = Submission.objects.create(phase=phase, creator=admin, status="done")
    Evaluation.objects.create(
        submission=sub, results={"aggregates": {"all": {"head": {"dice": {"mean": 0.8}}}}}
    )
    from challenges.leaderboards import recompute

    recompute(phase)
    assert LeaderboardEntry.objects.filter(phase=phase).count() == 1
    changelist = "/admin/challenges/submission/"
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "disqualify", "_selected_action": [sub.pk]})
    assert LeaderboardEntry.objects.filter(phase=phase).count() == 0
    client.post(changelist, {"action": "requalify", "_selected_action": [sub.pk]})
    assert LeaderboardEntry.objects.filter(phase=phase).count() == 1
    client.post(changelist, {"action": "rerun", "_selected_action": [sub.pk]})
    sub.refresh_from_db()
    assert sub.status == "queued"
    phases = "/admin/challenges/phase/"
    client.post(phases, {"action": "hide_leaderboard", "_selected_action": [phase.pk]})
    assert Phase.objects.get(pk=phase.pk).leaderboard_visibility == "hidden"
    client.post(phases, {"action": "publish_leaderboard", "_selected_action": [phase.pk]})
    assert Phase.objects.get(pk=phase.pk).leaderboard_visibility == "public"


def test_staff_organiser_sees_only_own_challenges(
    make_challenge, make_user, admin_client_for
) -> None:
    from django.contrib.auth.models import Permission

    mine_org = make_user("mine-org", is_staff=True)
    mine_org.user_permissions.set(Permission.objects.filter(content_type__app_label="challenges"))
    _, mine = make_challenge(slug="mine", organiser=mine_org)
    _, other = make_challenge(slug="other")
    Submission.objects.create(phase=mine, creator=mine_org, method_name="MINE-METHOD")
    Submission.objects.create(phase=other, creator=mine_org, method_name="OTHER-METHOD")
    body = admin_client_for(mine_org).get("/admin/challenges/submission/").content.decode()
    assert "MINE-METHOD" in body and "OTHER-METHOD" not in body


def test_staff_organiser_cannot_create_a_team_in_someone_elses_challenge(
    make_challenge, make_user, admin_client_for
) -> None:
    from challenges.models import Team
    from django.contrib.auth.models import Permission

    org = make_user("team-org", is_staff=True)
    org.user_permissions.set(Permission.objects.filter(content_type__app_label="challenges"))
    mine, _ = make_challenge(slug="mine", organiser=org)
    other, _ = make_challenge(slug="other")
    client = admin_client_for(org)
    form = client.get("/admin/challenges/team/add/").content.decode()
    assert f'value="{mine.pk}"' in form and f'value="{other.pk}"' not in form
    client.post(
        "/admin/challenges/team/add/",
        {"challenge": other.pk, "name": "Planted", "memberships-TOTAL_FORMS": 0,
         "memberships-INITIAL_FORMS": 0},
    )
    assert not Team.objects.filter(challenge=other, name="Planted").exists()


def test_commands(make_challenge, truth) -> None:
    _, phase = make_challenge(slug="cmd")
    call_command("load_truth", str(phase.pk), str(truth))
    assert Case.objects.filter(phase=phase).count() == 4
    with pytest.raises(CommandError, match="No phase"):
        call_command("load_truth", "cmd/nope", str(truth))
    with pytest.raises(CommandError, match="not a folder"):
        call_command("load_truth", "cmd/test", str(truth / "missing"))
    with pytest.raises(CommandError, match="Give a phase"):
        call_command("rerun_submissions")
    call_command("rerun_submissions", "cmd/test")
    call_command("recompute_leaderboards", "cmd/test")


def test_system_check_refuses_truth_under_media(settings, tmp_path) -> None:
    from challenges.checks import truth_root_is_private

    assert truth_root_is_private() == []
    settings.MEDIA_ROOT = tmp_path
    settings.TRUTH_ROOT = tmp_path / "truth"
    assert [e.id for e in truth_root_is_private()] == ["challenges.E001"]


def _admin_form_data(client: Client, url: str) -> dict[str, object]:
    """The admin change form's current values, as the browser would post them back."""
    form = client.get(url).context["adminform"].form
    data: dict[str, object] = {"_save": "Save"}
    for field in form:
        widget = field.field.widget
        value = field.field.prepare_value(field.value())
        if hasattr(widget, "widgets") and hasattr(widget, "decompress"):  # split date/time
            parts = widget.decompress(value) if value else [None] * len(widget.widgets)
            for i, part in enumerate(parts):
                data[f"{field.html_name}_{i}"] = "" if part is None else str(part)
        elif value is not None:
            data[field.html_name] = value
    return data


def test_ranking_metrics_must_be_metrics_of_the_task(
    make_challenge, make_user, admin_client_for
) -> None:
    from django.core.exceptions import ValidationError

    _, phase = make_challenge()
    client = admin_client_for(make_user("root", is_staff=True, is_superuser=True))
    url = f"/admin/challenges/phase/{phase.pk}/change/"
    data = _admin_form_data(client, url)
    # The admin offers the task's metrics as choices (issue 10 item 12): a misspelt one is
    # not among them and is refused on its field.
    data["ranking_metric_1"] = "head.hc_abs_error_mm"
    refused = client.post(url, data)
    assert refused.status_code == 200  # the form again, with the error on the field
    errors = refused.context["adminform"].form.errors["ranking_metric_1"]
    assert "Select a valid choice" in errors[0]
    data["ranking_metric_1"] = "head.hc_abs_diff_mm"
    assert client.post(url, data).status_code == 302
    phase.refresh_from_db()
    assert phase.ranking_metrics == [{"metric": "head.hc_abs_diff_mm"}]
    # Clearing every slot goes back to the task's own ranking metrics (it was refused as
    # "gaps"), and a gap is still refused.
    for slot in range(1, 6):
        data[f"ranking_metric_{slot}"] = ""
    assert client.post(url, data).status_code == 302
    phase.refresh_from_db()
    assert phase.ranking_metrics == []
    data["ranking_metric_2"] = "head.dice"
    gap = client.post(url, data)
    assert gap.status_code == 200 and "without gaps" in gap.content.decode()
    # Code and the shell cannot get around it either: save() checks too.
    for bad, message in [
        ([{"metric": "fh.dice"}], "'fh.dice' is not a metric"),
        ([{"metric": "head.dice"}, {"metric": "head.dice"}], "listed twice"),
        ([{"metric": "head.hd95", "higher_is_better": True}], "lower is better"),
        # The old {"class", "metric"} pairs are migrated (0008) and refused from then on.
        ([{"class": "head", "metric": "dice"}], r"must be \{metric: str\}"),
        ([{"metric": "head.dice"}][0], "must be a list"),
    ]:
        phase.ranking_metrics = bad
        with pytest.raises(ValidationError, match=message):
            phase.save()


def test_organiser_opens_a_submission_and_downloads_its_upload(
    make_challenge, make_user, admin_client_for
) -> None:
    """The submission's admin page opens (it was a 500: the file widget asked private
    storage for a URL) and the upload downloads for the challenge's organisers only."""
    from challenges.services.submissions import create_submission
    from challenges.services.teams import join_challenge
    from django.contrib.auth.models import Permission
    from django.core.files.uploadedfile import SimpleUploadedFile

    org = make_user("sub-org", is_staff=True)
    org.user_permissions.set(Permission.objects.filter(content_type__app_label="challenges"))
    challenge, phase = make_challenge(slug="sub-admin", organiser=org)
    other_org = make_user("other-org", is_staff=True)
    other_org.user_permissions.set(org.user_permissions.all())
    make_challenge(slug="elsewhere", organiser=other_org)
    user = make_user("sub-participant")
    join_challenge(user, challenge, "Subbers")
    payload = b"PK\x05\x06" + bytes(18)
    sub = create_submission(
        phase, user, SimpleUploadedFile("my masks.zip", payload, "application/zip"), {}
    )
    page = admin_client_for(org).get(f"/admin/challenges/submission/{sub.pk}/change/")
    assert page.status_code == 200
    assert "Download my masks.zip" in page.content.decode()
    download = admin_client_for(org).get(f"/admin/challenges/submission/{sub.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == payload
    assert "my masks.zip" in download["Content-Disposition"]
    # Another challenge's organiser and a participant get nothing.
    assert admin_client_for(other_org).get(
        f"/admin/challenges/submission/{sub.pk}/download/"
    ).status_code == 404
    assert admin_client_for(user).get(
        f"/admin/challenges/submission/{sub.pk}/download/"
    ).status_code in (302, 403)
