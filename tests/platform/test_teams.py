"""Teams admit members only with consent (issue 9 item 2).

Joining a challenge under an existing team's name used to add the caller to that team, so
anyone could read another team's submissions and per-case results and submit as that team.
Now a taken name is refused, an existing team is joined only through a member's single-use
invitation, leaving keeps the team's submissions with the team, and every change is logged.
Everything goes through HTTP (Django's test client, and a live server driven with requests
and the CLI) against the test PostgreSQL database.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import requests
from challenges.models import (
    Evaluation,
    Submission,
    Team,
    TeamInvitation,
    TeamMembershipEvent,
)
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.platform.conftest import zip_bytes

PASSWORD = "pw-secret-123"
Kind = TeamMembershipEvent.Kind


def _api(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=PASSWORD)
    return client


def _web(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def _scored_submission(phase, team: Team, user) -> Submission:
    """A done submission of ``team`` with per-case results, as the worker would leave it."""
    sub = Submission.objects.create(
        phase=phase, creator=user, team=team, status="done", progress=1.0, method_name="secret"
    )
    cases = [{"case": "c1", "site": "s1", "flags": [], "metrics": {"head": {"dice": 0.9}}}]
    Evaluation.objects.create(submission=sub, results={"cases": cases, "aggregates": {}})
    return sub


@pytest.fixture
def lab(make_challenge, make_user):
    """Alice's team "Lab A" (created through the API) with one scored submission."""
    challenge, phase = make_challenge()
    alice = make_user("alice")
    joined = _api("alice").post(f"/api/challenges/{challenge.slug}/join/", {"team_name": "Lab A"})
    assert joined.status_code == 200, joined.content
    team = Team.objects.get(challenge=challenge, name="Lab A")
    return challenge, phase, team, _scored_submission(phase, team, alice)


def _invite(username: str, slug: str, **data) -> dict:
    response = _api(username).post(f"/api/challenges/{slug}/team/invitations/", data)
    assert response.status_code == 201, response.content
    return response.json()


# --------------------------------------------------------------------------------------------
# The takeover


@pytest.mark.django_db(transaction=True)
def test_takeover_by_team_name_is_refused_over_http(lab, make_user, live_server) -> None:
    """Bob posts join with Alice's team name (any case, or as his default name): he is not let
    in, sees none of her submissions or per-case results and cannot submit for her team."""
    challenge, phase, team, secret = lab
    make_user("bob")
    victim = make_user("vic")
    _api("vic").post(f"/api/challenges/{challenge.slug}/join/", {"team_name": "mallory"})
    make_user("mallory")

    def session(username: str) -> requests.Session:
        http = requests.Session()
        token = http.post(
            f"{live_server.url}/api/token/", data={"username": username, "password": PASSWORD}
        ).json()["token"]
        http.headers["Authorization"] = f"Token {token}"
        return http

    bob = session("bob")
    join = f"{live_server.url}/api/challenges/{challenge.slug}/join/"
    for name in ("Lab A", "lab a", "  LAB A  "):
        refused = bob.post(join, data={"team_name": name})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "name_taken"
        assert "invitation" in refused.json()["detail"] and "Lab A" in refused.json()["detail"]
    assert list(team.members.values_list("username", flat=True)) == ["alice"]
    assert not Team.objects.filter(challenge=challenge, members__username="bob").exists()

    # Nothing of Lab A's is visible to Bob.
    assert bob.get(f"{live_server.url}/api/submissions/{secret.pk}/").status_code == 404
    assert bob.get(f"{live_server.url}/api/submissions/{secret.pk}/cases/").status_code == 404
    listed = bob.get(f"{live_server.url}/api/submissions/").json()
    assert (listed.get("results") if isinstance(listed, dict) else listed) == []
    assert bob.get(f"{live_server.url}/api/challenges/{challenge.slug}/team/").status_code == 404

    # ... and he cannot submit as Lab A: without a team of his own the upload is refused.
    upload = bob.post(
        f"{live_server.url}/api/submissions/",
        data={"phase": phase.pk, "method_name": "hijack"},
        files={"file": ("p.zip", zip_bytes({"c1.png": b"x"}), "application/zip")},
    )
    assert upload.status_code == 400 and "Join the challenge" in upload.json()["detail"]
    assert Submission.objects.filter(team=team).count() == 1

    # The default team name (the user name) cannot be used to slip in either.
    mallory = session("mallory")
    assert mallory.post(join).status_code == 409
    assert list(Team.objects.get(name="mallory").members.all()) == [victim]

    # The web join form refuses too, with the same advice, and Bob stays teamless.
    page = bob.get(f"{live_server.url}/challenges/{challenge.slug}/")
    assert page.status_code == 200
    web = Client()
    web.login(username="bob", password=PASSWORD)
    shown = web.post(f"/challenges/{challenge.slug}/join/", {"team_name": "LAB A"}, follow=True)
    assert (
        "already exists" in shown.content.decode() and "invitation link" in shown.content.decode()
    )
    assert not team.members.filter(username="bob").exists()

    refusals = TeamMembershipEvent.objects.filter(team=team, kind=Kind.NAME_REFUSED)
    assert refusals.count() == 4 and {e.actor.username for e in refusals} == {"bob"}

    # A free name still makes a new team at once.
    mine = bob.post(join, data={"team_name": "Bob Lab"})
    assert mine.status_code == 200 and mine.json()["members"] == ["bob"]


@pytest.mark.django_db
def test_submit_form_with_a_taken_team_name_is_refused(lab, make_user) -> None:
    challenge, phase, team, _ = lab
    make_user("erin")
    erin = _web("erin")
    form = {"method_name": "m", "fine_tuning_strategy": "full", "team_name": "Lab A"}
    form["file"] = _upload()
    page = erin.post(f"/phases/{phase.pk}/submit/", form)
    assert page.status_code == 200 and "already exists" in page.content.decode()
    assert not team.members.filter(username="erin").exists()
    assert not Submission.objects.filter(creator__username="erin").exists()


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.zip", zip_bytes({"c1.png": b"x"}), "application/zip")


# --------------------------------------------------------------------------------------------
# Invitations


@pytest.mark.django_db
def test_invitation_accepted_through_the_api(lab, make_user) -> None:
    challenge, phase, team, secret = lab
    make_user("bob")
    invitation = _invite("alice", challenge.slug)
    assert len(invitation["token"]) >= 32 and invitation["state"] == "open"
    assert invitation["url"].endswith(f"/invitations/{invitation['token']}/")
    assert invitation["url"].startswith("http")
    listed = _api("alice").get(f"/api/challenges/{challenge.slug}/team/invitations/").json()
    assert [i["id"] for i in listed] == [invitation["id"]]

    bob = _api("bob")
    assert bob.get(f"/api/submissions/{secret.pk}/cases/").status_code == 404
    about = bob.get(f"/api/invitations/{invitation['token']}/").json()
    assert about["team"] == "Lab A" and about["created_by"] == "alice" and "token" not in about
    accepted = bob.post(f"/api/invitations/{invitation['token']}/accept/")
    assert accepted.status_code == 200, accepted.content
    assert sorted(accepted.json()["members"]) == ["alice", "bob"]
    assert bob.get(f"/api/submissions/{secret.pk}/cases/").status_code == 200
    assert bob.get(f"/api/challenges/{challenge.slug}/team/").json()["name"] == "Lab A"
    assert TeamInvitation.objects.get(pk=invitation["id"]).accepted_by.username == "bob"


@pytest.mark.django_db
def test_invitation_accepted_in_the_browser(lab, make_user) -> None:
    """The Team section makes the link, the link's page asks the (logged-in) invitee, and
    accepting makes them a member shown on the challenge page."""
    challenge, _, team, _ = lab
    make_user("carol")
    alice = _web("alice")
    page = alice.get(f"/challenges/{challenge.slug}/").content.decode()
    assert 'id="team"' in page and 'id="create-invitation"' in page and 'id="leave-team"' in page
    made = alice.post(f"/challenges/{challenge.slug}/team/invite/", follow=True)
    html = made.content.decode()
    token = TeamInvitation.objects.get(team=team).token
    link = f"/invitations/{token}/"
    assert link in html and 'id="team-invitations"' in html

    anonymous = Client().get(link)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    carol = _web("carol")
    ask = carol.get(link)
    assert ask.status_code == 200 and "Lab A" in ask.content.decode()
    assert 'id="accept-invitation"' in ask.content.decode()
    assert not team.members.filter(username="carol").exists()  # opening is not accepting
    done = carol.post(link, follow=True)
    assert done.status_code == 200 and "You joined team" in done.content.decode()
    assert team.members.filter(username="carol").exists()
    assert "carol" in alice.get(f"/challenges/{challenge.slug}/").content.decode()


@pytest.mark.django_db
def test_a_newcomer_signs_up_from_an_invitation_and_comes_back_to_it(lab) -> None:
    """Someone with no account opens the link: the log-in page says why they are there, its
    sign-up link keeps the way back, and after signing up they land on the invitation."""
    challenge, _, team, _ = lab
    link = f"/invitations/{_invite('alice', challenge.slug)['token']}/"
    visitor = Client()
    login_url = visitor.get(link)["Location"]
    login_page = visitor.get(login_url).content.decode()
    assert 'id="login-for-invitation"' in login_page
    signup_href = re.search(r'No account\? <a href="(/accounts/signup/[^"]*)"', login_page).group(1)
    assert "invitations" in signup_href
    form = visitor.get(signup_href.replace("&amp;", "&")).content.decode()
    assert 'name="next"' in form
    done = visitor.post(
        signup_href.replace("&amp;", "&"),
        {"username": "dave", "password1": "a-long-pass-99", "password2": "a-long-pass-99"},
    )
    assert done.status_code == 302 and done["Location"] == link
    assert 'id="accept-invitation"' in visitor.get(link).content.decode()
    assert not team.members.filter(username="dave").exists()  # still only on accepting


@pytest.mark.django_db
def test_invitation_reuse_expiry_and_revoke_are_refused(lab, make_user) -> None:
    challenge, _, team, _ = lab
    for name in ("bob", "dave", "erin", "fred"):
        make_user(name)
    used = _invite("alice", challenge.slug)["token"]
    assert _api("bob").post(f"/api/invitations/{used}/accept/").status_code == 200
    again = _api("dave").post(f"/api/invitations/{used}/accept/")
    assert again.status_code == 410 and again.json()["code"] == "accepted"
    web_again = _web("dave").post(f"/invitations/{used}/")
    assert web_again.status_code == 410 and "already been used" in web_again.content.decode()

    expired = _invite("alice", challenge.slug, days=1)
    TeamInvitation.objects.filter(pk=expired["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = _api("dave").post(f"/api/invitations/{expired['token']}/accept/")
    assert late.status_code == 410 and late.json()["code"] == "expired"
    assert _web("dave").get(f"/invitations/{expired['token']}/").status_code == 410

    revoked = _invite("bob", challenge.slug)
    gone = _api("alice").delete(
        f"/api/challenges/{challenge.slug}/team/invitations/{revoked['id']}/"
    )
    assert gone.status_code == 204
    refused = _api("dave").post(f"/api/invitations/{revoked['token']}/accept/")
    assert refused.status_code == 410 and refused.json()["code"] == "revoked"

    in_browser = _invite("alice", challenge.slug)
    _web("alice").post(f"/challenges/{challenge.slug}/team/invitations/{in_browser['id']}/revoke/")
    assert _api("dave").post(f"/api/invitations/{in_browser['token']}/accept/").status_code == 410

    assert _api("dave").post("/api/invitations/not-a-real-token/accept/").status_code == 404
    assert _web("dave").get("/invitations/not-a-real-token/").status_code == 404
    assert _api("dave").post(f"/api/invitations/{'x' * 300}/accept/").status_code == 404
    assert _api("dave").post("/api/invitations/%20/accept/").status_code == 404

    # Someone already in another team of the challenge cannot accept (the link stays usable).
    _api("erin").post(f"/api/challenges/{challenge.slug}/join/", {"team_name": "Erin Lab"})
    pending = _invite("alice", challenge.slug)
    busy = _api("erin").post(f"/api/invitations/{pending['token']}/accept/")
    assert busy.status_code == 409 and busy.json()["code"] == "already_in_team"
    assert TeamInvitation.objects.get(pk=pending["id"]).is_open

    # Outsiders can neither list, make nor revoke Lab A's invitations.
    fred = _api("fred")
    assert fred.get(f"/api/challenges/{challenge.slug}/team/invitations/").status_code == 404
    assert fred.post(f"/api/challenges/{challenge.slug}/team/invitations/").status_code == 404
    erin_revoke = _api("erin").delete(
        f"/api/challenges/{challenge.slug}/team/invitations/{pending['id']}/"
    )
    assert erin_revoke.status_code == 404 and TeamInvitation.objects.get(pk=pending["id"]).is_open
    assert sorted(team.members.values_list("username", flat=True)) == ["alice", "bob"]
    bad_days = _api("alice").post(
        f"/api/challenges/{challenge.slug}/team/invitations/", {"days": 365}
    )
    assert bad_days.status_code == 400


# --------------------------------------------------------------------------------------------
# Leaving


@pytest.mark.django_db
def test_leaving_keeps_submissions_with_the_team(lab, make_user) -> None:
    challenge, _, team, secret = lab
    make_user("bob")
    _api("bob").post(f"/api/invitations/{_invite('alice', challenge.slug)['token']}/accept/")
    bobs_link = _invite("bob", challenge.slug)

    left = _api("bob").post(f"/api/challenges/{challenge.slug}/team/leave/")
    assert left.status_code == 200 and left.json() == {"left": "Lab A", "team_deleted": False}
    assert list(team.members.values_list("username", flat=True)) == ["alice"]
    assert Submission.objects.get(pk=secret.pk).team_id == team.pk
    assert _api("bob").get(f"/api/submissions/{secret.pk}/cases/").status_code == 404
    assert not TeamInvitation.objects.get(pk=bobs_link["id"]).is_open  # his consent ended
    assert _api("bob").post(f"/api/invitations/{bobs_link['token']}/accept/").status_code == 410

    # The last member leaving a team with submissions: the team and its entries stay.
    _web("alice").post(f"/challenges/{challenge.slug}/team/leave/")
    assert Team.objects.filter(pk=team.pk).exists() and not team.members.exists()
    assert Submission.objects.get(pk=secret.pk).team_id == team.pk

    # A team without submissions is deleted with its last member, which frees its name.
    bob = _api("bob")
    joined = bob.post(f"/api/challenges/{challenge.slug}/join/", {"team_name": "Tmp"})
    assert joined.status_code == 200
    assert bob.post(f"/api/challenges/{challenge.slug}/team/leave/").json()["team_deleted"]
    assert not Team.objects.filter(challenge=challenge, name="Tmp").exists()
    assert bob.post(f"/api/challenges/{challenge.slug}/team/leave/").status_code == 404


# --------------------------------------------------------------------------------------------
# The log and the admin


@pytest.mark.django_db
def test_membership_events_are_logged(lab, make_user) -> None:
    challenge, _, team, _ = lab
    make_user("bob")
    invitation = _invite("alice", challenge.slug)
    _api("bob").post(f"/api/invitations/{invitation['token']}/accept/")
    spare = _invite("bob", challenge.slug)
    _api("alice").delete(f"/api/challenges/{challenge.slug}/team/invitations/{spare['id']}/")
    _api("bob").post(f"/api/challenges/{challenge.slug}/team/leave/")

    events = [
        (e.kind, e.actor.username, e.member.username if e.member else None, e.team_name)
        for e in TeamMembershipEvent.objects.filter(challenge=challenge).order_by("id")
    ]
    assert events == [
        (Kind.CREATED, "alice", "alice", "Lab A"),
        (Kind.INVITED, "alice", None, "Lab A"),
        (Kind.ACCEPTED, "bob", "bob", "Lab A"),
        (Kind.INVITED, "bob", None, "Lab A"),
        (Kind.REVOKED, "alice", None, "Lab A"),
        (Kind.LEFT, "bob", "bob", "Lab A"),
    ]
    accepted = TeamMembershipEvent.objects.get(kind=Kind.ACCEPTED)
    assert accepted.invitation_id == invitation["id"] and accepted.created_at <= timezone.now()


class _FormFields(HTMLParser):
    """The fields a browser would post from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "checkbox"):
            self.data[name] = a.get("value") or ""
        elif tag == "input" and name and "checked" in a:
            self.data[name] = a.get("value") or "on"
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@pytest.mark.django_db
def test_admin_lists_teams_members_invitations_and_log(lab, make_user) -> None:
    challenge, _, team, _ = lab
    make_user("bob")
    make_user("boss", is_superuser=True, is_staff=True)
    _api("bob").post(f"/api/invitations/{_invite('alice', challenge.slug)['token']}/accept/")
    _invite("bob", challenge.slug)
    admin = _web("boss")
    for url in (
        "/admin/challenges/team/",
        "/admin/challenges/team/?q=bob",
        "/admin/challenges/teaminvitation/",
        "/admin/challenges/teammembershipevent/",
        f"/admin/challenges/teaminvitation/{TeamInvitation.objects.first().pk}/change/",
    ):
        assert admin.get(url).status_code == 200, url
    listing = admin.get("/admin/challenges/team/").content.decode()
    assert "alice, bob" in listing
    change = admin.get(f"/admin/challenges/team/{team.pk}/change/")
    html = change.content.decode()
    assert change.status_code == 200
    for needle in ("bob", "Joined by accepting an invitation", "Created an invitation"):
        assert needle in html, needle
    log = admin.get("/admin/challenges/teammembershipevent/").content.decode()
    assert "Lab A" in log and "Joined by accepting an invitation" in log

    # Removing bob through the members inline: logged, and his open invitation revoked.
    fields = _FormFields()
    fields.feed(html)
    bob_id = str(team.members.get(username="bob").pk)
    rows = [
        k[: -len("-user")] for k, v in fields.data.items() if k.endswith("-user") and v == bob_id
    ]
    assert len(rows) == 1
    fields.data[f"{rows[0]}-DELETE"] = "on"
    fields.data["_save"] = "Save"
    saved = admin.post(f"/admin/challenges/team/{team.pk}/change/", fields.data)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert list(team.members.values_list("username", flat=True)) == ["alice"]
    removed = TeamMembershipEvent.objects.get(kind=Kind.REMOVED)
    assert removed.actor.username == "boss" and removed.member.username == "bob"
    assert not TeamInvitation.objects.filter(created_by__username="bob").first().is_open


# --------------------------------------------------------------------------------------------
# The command-line client


@pytest.mark.django_db(transaction=True)
def test_cli_invites_and_accepts(lab, make_user, live_server, capsys) -> None:
    from rest_framework.authtoken.models import Token

    from fetalbench.cli import main

    challenge, _, team, _ = lab
    bob = make_user("bob")
    alice_token = Token.objects.create(user=team.members.get()).key
    base = ["--url", live_server.url, "--token"]
    assert main([*base, alice_token, "team", "invite", challenge.slug]) == 0
    link = capsys.readouterr().out.strip().splitlines()[-1]
    assert link.startswith(live_server.url) and "/invitations/" in link
    bob_token = Token.objects.create(user=bob).key
    assert main([*base, bob_token, "team", "accept", link]) == 0
    assert "bob" in capsys.readouterr().out and team.members.filter(pk=bob.pk).exists()
    assert main([*base, bob_token, "team", "accept", link]) == 2
    assert "already" in capsys.readouterr().err
    assert main([*base, bob_token, "team", "create", challenge.slug, "Lab A"]) == 0  # own team
    assert main([*base, bob_token, "team", "leave", challenge.slug]) == 0
    assert "left team 'Lab A'" in capsys.readouterr().out


@pytest.mark.django_db
def test_admin_adds_a_member_but_never_into_a_second_team(lab, make_user) -> None:
    """An organiser may put someone in a team (logged), but not someone already in another
    team of the same challenge."""
    challenge, _, team, _ = lab
    dan, olga = make_user("dan"), make_user("olga")
    Team.objects.create(challenge=challenge, name="Other").members.add(olga)
    make_user("boss", is_superuser=True, is_staff=True)
    admin = _web("boss")
    url = f"/admin/challenges/team/{team.pk}/change/"
    fields = _FormFields()
    fields.feed(admin.get(url).content.decode())
    prefix = next(k[: -len("-TOTAL_FORMS")] for k in fields.data if k.endswith("-TOTAL_FORMS"))
    n = int(fields.data[f"{prefix}-TOTAL_FORMS"])
    data = {**fields.data, f"{prefix}-TOTAL_FORMS": str(n + 1), "_save": "Save"}
    data[f"{prefix}-{n}-team"] = str(team.pk)

    data[f"{prefix}-{n}-user"] = str(olga.pk)
    refused = admin.post(url, data)
    assert refused.status_code == 200 and "Already in team “Other”" in refused.content.decode()
    assert not team.members.filter(pk=olga.pk).exists()

    data[f"{prefix}-{n}-user"] = str(dan.pk)
    assert admin.post(url, data).status_code == 302
    assert team.members.filter(pk=dan.pk).exists()
    added = TeamMembershipEvent.objects.get(kind=Kind.ADDED)
    assert added.actor.username == "boss" and added.member == dan
