"""Who may see what. Pages and the API both ask these helpers, so the rules live in one place.

Hidden labels are not covered here because nothing serves them at all: TRUTH_ROOT has no URL.
"""

from __future__ import annotations

from challenges.models import Challenge, Phase, Submission, Team


def is_organiser(user, challenge: Challenge) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return challenge.organisers.filter(pk=user.pk).exists()


def user_team(user, challenge: Challenge) -> Team | None:
    """The user's team in ``challenge`` (a user is in at most one team per challenge)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Team.objects.filter(challenge=challenge, members=user).first()


# Joining and leaving teams (with a member's consent) is in challenges.services.teams.


def is_owner(user, submission: Submission) -> bool:
    """The creator, a member of the submitting team, or an organiser of the challenge."""
    if not getattr(user, "is_authenticated", False):
        return False
    if submission.creator_id == user.pk:
        return True
    if submission.team_id and submission.team.members.filter(pk=user.pk).exists():
        return True
    return is_organiser(user, submission.phase.challenge)


def can_view_submission(user, submission: Submission) -> bool:
    return is_owner(user, submission)


def can_view_leaderboard(user, phase: Phase) -> bool:
    if phase.leaderboard_visibility == Phase.Visibility.PUBLIC:
        return True
    return is_organiser(user, phase.challenge)


def can_view_case_results(user, submission: Submission) -> bool:
    """Owners always; everyone else only when the phase says so and the entry is public."""
    if is_owner(user, submission):
        return True
    phase = submission.phase
    return (
        phase.per_case_visibility == Phase.PerCaseVisibility.EVERYONE
        and can_view_leaderboard(user, phase)
        and submission.status == Submission.Status.DONE
        and not submission.disqualified
    )
