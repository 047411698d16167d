"""Team membership with consent: creating a team, invitations, leaving, organiser changes.

A team name is a label, never a key. Joining a challenge under a name that is already taken
is refused (it used to add the caller to that team, which let anyone read and submit as any
team). The only ways into an existing team are an invitation a member created, or an organiser
in the admin. Every change is written as a ``TeamMembershipEvent``.

A user is in at most one team per challenge. The membership table cannot say so by itself
(the rule spans two tables), so every change here first locks the user's row: two parallel
requests by one user are serialised and the second sees the first's team. Accepting also locks
the invitation, so a single-use link is used once however many tabs post it.

Submissions belong to the team, not to the member: leaving never moves or deletes them.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from challenges.models import Challenge, Team, TeamInvitation, TeamMembershipEvent
from challenges.permissions import user_team

Kind = TeamMembershipEvent.Kind

#: How long a new invitation stays usable unless the member asks otherwise.
DEFAULT_INVITATION_DAYS = 7
MAX_INVITATION_DAYS = 30
#: Open invitations per team: enough for any real team, and a bound on a member's spam.
MAX_OPEN_INVITATIONS = 20


class TeamError(Exception):
    """A refused membership change. ``message`` is shown to the user as it is; ``code`` lets
    the API pick a status (see ``STATUS_OF``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


#: HTTP status for each ``TeamError.code`` (pages show the message with the same status).
STATUS_OF = {
    "name_taken": 409,
    "already_in_team": 409,
    "already_member": 409,
    "not_member": 403,
    "bad_request": 400,
    "too_many": 429,
    "not_found": 404,
    "accepted": 410,
    "revoked": 410,
    "expired": 410,
}


def _lock_user(user) -> None:
    """Serialise this user's membership changes (see the module docstring)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def log_event(
    team: Team,
    kind: str,
    *,
    actor=None,
    member=None,
    invitation: TeamInvitation | None = None,
) -> TeamMembershipEvent:
    """One audit row; the name and challenge are copied so the row outlives the team."""
    return TeamMembershipEvent.objects.create(
        challenge_id=team.challenge_id,
        team=team,
        team_name=team.name,
        kind=kind,
        actor=actor,
        member=member,
        invitation=invitation,
    )


def clean_team_name(name: str | None, user) -> str:
    """The name a new team gets: what the user typed, else their user name."""
    return (name or "").strip()[:100] or user.get_username()[:100]


def name_taken_message(name: str) -> str:
    return (
        f"A team named “{name}” already exists in this challenge. To join it, ask one of its "
        "members for an invitation link; otherwise pick another team name."
    )


def join_challenge(user, challenge: Challenge, team_name: str | None = None) -> Team:
    """Return the user's team, or create a new team (named ``team_name``, else after the user)
    with the user as its only member.

    Raises ``TeamError("name_taken")`` when a team of that name (ignoring case) exists: the
    user is *not* added to it, and the attempt is logged on that team.
    """
    name = clean_team_name(team_name, user)
    with transaction.atomic():
        _lock_user(user)
        team = user_team(user, challenge)
        if team is not None:
            return team
        taken = Team.objects.filter(challenge=challenge, name__iexact=name).first()
        if taken is None:
            try:
                with transaction.atomic():
                    team = Team.objects.create(challenge=challenge, name=name)
            except IntegrityError:  # created by someone else since the check above
                taken = Team.objects.get(challenge=challenge, name=name)
            else:
                team.members.add(user)
                log_event(team, Kind.CREATED, actor=user, member=user)
                return team
    log_event(taken, Kind.NAME_REFUSED, actor=user, member=user)
    raise TeamError("name_taken", name_taken_message(taken.name))


def is_member(user, team: Team) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (
        team.members.filter(pk=user.pk).exists()
    )


def open_invitations(team: Team) -> QuerySet[TeamInvitation]:
    """Invitations of ``team`` that can still be accepted, newest first."""
    now = timezone.now()
    return (
        team.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .select_related("created_by")
    )


def create_invitation(
    team: Team, by, *, days: int | None = DEFAULT_INVITATION_DAYS
) -> TeamInvitation:
    """A single-use invitation to ``team``, made by its member ``by``; expires after ``days``
    (1..MAX_INVITATION_DAYS)."""
    if days is None:
        days = DEFAULT_INVITATION_DAYS
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise TeamError(
            "bad_request", f"An invitation lasts 1 to {MAX_INVITATION_DAYS} days, not {days}."
        )
    with transaction.atomic():
        Team.objects.select_for_update().filter(pk=team.pk).first()
        if not is_member(by, team):
            raise TeamError("not_member", "Only a member of the team can invite people to it.")
        if open_invitations(team).count() >= MAX_OPEN_INVITATIONS:
            raise TeamError(
                "too_many",
                f"Your team has {MAX_OPEN_INVITATIONS} open invitations; revoke some first.",
            )
        invitation = TeamInvitation.objects.create(
            team=team, created_by=by, expires_at=timezone.now() + timedelta(days=days)
        )
        log_event(team, Kind.INVITED, actor=by, invitation=invitation)
    return invitation


def find_invitation(token: str) -> TeamInvitation | None:
    if not token or len(token) > 64:
        return None
    return (
        TeamInvitation.objects.select_related("team__challenge", "created_by")
        .filter(token=token)
        .first()
    )


def invitation_problem(invitation: TeamInvitation) -> TeamError | None:
    """Why an invitation cannot be accepted any more, or None when it can."""
    state = invitation.state
    if state == "accepted":
        return TeamError(
            "accepted",
            "This invitation has already been used (each link admits one person); ask a "
            "member of the team for a new link.",
        )
    if state == "revoked":
        return TeamError(
            "revoked",
            "This invitation was revoked by the team; ask a member for a new link if you "
            "should still join.",
        )
    if state == "expired":
        return TeamError("expired", "This invitation has expired; ask the team for a new one.")
    return None


def accept_invitation(token: str, user) -> Team:
    """Put ``user`` in the team the invitation ``token`` is for, using the invitation up."""
    with transaction.atomic():
        _lock_user(user)
        invitation = (
            TeamInvitation.objects.select_for_update(of=("self",))
            .select_related("team__challenge")
            .filter(token=token)
            .first()
            if token and len(token) <= 64
            else None
        )
        if invitation is None:
            raise TeamError("not_found", "This invitation link is not valid.")
        problem = invitation_problem(invitation)
        if problem is not None:
            raise problem
        team = invitation.team
        current = user_team(user, team.challenge)
        if current is not None and current.pk == team.pk:
            raise TeamError("already_member", f"You are already in team “{team.name}”.")
        if current is not None:
            raise TeamError(
                "already_in_team",
                f"You are in team “{current.name}” for this challenge; leave it before "
                "accepting an invitation to another team.",
            )
        team.members.add(user)
        invitation.accepted_by = user
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_by", "accepted_at"])
        log_event(team, Kind.ACCEPTED, actor=user, member=user, invitation=invitation)
    return team


def revoke_invitation(invitation: TeamInvitation, by, *, organiser: bool = False) -> bool:
    """Make an open invitation unusable; a member of its team (or an organiser) may.
    Returns False when it was not open any more (used, revoked or expired)."""
    with transaction.atomic():
        invitation = TeamInvitation.objects.select_for_update().get(pk=invitation.pk)
        if not organiser and not is_member(by, invitation.team):
            raise TeamError("not_member", "Only a member of the team can revoke its invitations.")
        if not invitation.is_open:
            return False
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        log_event(invitation.team, Kind.REVOKED, actor=by, invitation=invitation)
    return True


def _revoke_open(team: Team, by, **filters) -> None:
    for invitation in open_invitations(team).filter(**filters):
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        log_event(team, Kind.REVOKED, actor=by, invitation=invitation)


def _drop_member(team: Team, member, actor, kind: str) -> None:
    """Take ``member`` out of ``team`` and revoke the invitations they made: their consent to
    let someone in ends with their membership."""
    team.members.remove(member)
    log_event(team, kind, actor=actor, member=member)
    _revoke_open(team, actor, created_by=member)


def leave_team(user, team: Team) -> bool:
    """``user`` leaves ``team``. Returns True when the team was deleted with it.

    The team's submissions stay with the team. The last member leaving revokes every open
    invitation (nobody is left to consent) and deletes the team only if it has no
    submissions, which frees its name; a team with submissions stays, memberless, on the
    leaderboard.
    """
    with transaction.atomic():
        _lock_user(user)
        team = Team.objects.select_for_update().get(pk=team.pk)
        if not team.members.filter(pk=user.pk).exists():
            raise TeamError("not_member", f"You are not in team “{team.name}”.")
        _drop_member(team, user, user, Kind.LEFT)
        if team.members.exists():
            return False
        _revoke_open(team, user)
        if team.submissions.exists():
            return False
        log_event(team, Kind.DISBANDED, actor=user)
        team.delete()
        return True


def remove_member(team: Team, member, by) -> None:
    """An organiser takes ``member`` out of ``team`` (admin). The team stays as it is."""
    with transaction.atomic():
        _lock_user(member)
        if not team.members.filter(pk=member.pk).exists():
            raise TeamError("not_member", f"{member.get_username()} is not in team “{team.name}”.")
        _drop_member(team, member, by, Kind.REMOVED)


def add_member(team: Team, member, by) -> None:
    """An organiser puts ``member`` in ``team`` (admin), keeping one team per challenge."""
    with transaction.atomic():
        _lock_user(member)
        current = user_team(member, team.challenge)
        if current is not None and current.pk == team.pk:
            return
        if current is not None:
            raise TeamError(
                "already_in_team",
                f"{member.get_username()} is already in team “{current.name}” of this challenge.",
            )
        team.members.add(member)
        log_event(team, Kind.ADDED, actor=by, member=member)
