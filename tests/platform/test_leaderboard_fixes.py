"""Issue 12 usability defects on the boards' statistics, history and frozen boards: private
per-case results in served analyses, missing values in board keys, per-case methods' history,
the board's ranking time, history's evaluator versions and tau, freezing while analysing."""

from __future__ import annotations

import hashlib
import json
import math
import struct

import pytest
from challenges.leaderboards import leaderboard_table, recompute
from challenges.leaderboards.analyses import analyse_phase, payload_for, stored_analysis
from challenges.leaderboards.history import freeze
from challenges.leaderboards.keys import board_key
from challenges.models import BoardMeans, Evaluation, LeaderboardSnapshot, Phase
from django.contrib.auth.models import AnonymousUser

from tests.platform.test_leaderboard_history import board  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def _canonical_sha(content) -> str:
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_per_case_results_are_not_served_to_who_may_not_see_them(board, client) -> None:  # noqa: F811
    phase, submit, organiser = board
    assert phase.per_case_visibility == Phase.PerCaseVisibility.OWNERS
    submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    recompute(phase)
    analyse_phase(phase.pk)
    url = f"/api/phases/{phase.pk}/leaderboard/analysis/"

    anonymous = client.get(url).json()["analysis"]
    assert anonymous["podium"]["case_ranks"] is None
    assert anonymous["cases"] == [] and anonymous["case_sites"] == {}
    assert anonymous["podium"]["rank_histogram"] and anonymous["rows"][0]["rank_low"] is not None
    assert anonymous["significance"]["pvalues"] and "redacted" in anonymous
    stored = stored_analysis(phase)["analysis"]
    assert stored["podium"]["case_ranks"] and stored["cases"]  # the stored one is whole
    assert payload_for(AnonymousUser(), phase, stored)["podium"]["case_ranks"] is None

    # The frozen board: served redacted, stored whole; the organisers' copy verifies.
    client.force_login(organiser)
    whole = client.get(url).json()["analysis"]
    assert whole["podium"]["case_ranks"] == stored["podium"]["case_ranks"]
    frozen = client.post(f"/api/phases/{phase.pk}/leaderboard/frozen/", {}).json()
    assert frozen["content_redacted"] is False
    assert _canonical_sha(frozen["content"]) == frozen["checksum"]
    client.logout()
    public = client.get(f"/api/frozen/{frozen['slug']}/").json()
    assert public["content_redacted"] is True and public["verified"] is True
    assert public["content"]["analysis"]["podium"]["case_ranks"] is None
    assert public["content"]["analysis"]["case_sites"] == {}
    assert public["checksum"] == frozen["checksum"]

    # A phase whose per-case results are public serves them to everyone.
    phase.per_case_visibility = Phase.PerCaseVisibility.EVERYONE
    phase.save()
    assert client.get(url).json()["analysis"]["podium"]["case_ranks"]


# ------------------------------------------------------------------------------------------
# Missing values in board keys


@pytest.mark.django_db(databases=[])
def test_a_missing_value_gives_one_board_key_whatever_its_nan_bits() -> None:
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from_nanmean = float(np.nanmean(np.array([np.nan, np.nan])))
    arithmetic = float("inf") - float("inf")  # x86: the sign bit set
    negative = -float("nan")
    patterns = {struct.pack("<d", v) for v in (from_nanmean, arithmetic, negative, math.nan)}
    assert len(patterns) > 1  # the NaNs really differ in their bits
    keys = {
        board_key("sig", [(1, {"head.dice": 0.9}), (2, {"head.dice": value})])
        for value in (from_nanmean, arithmetic, negative, math.nan, None, np.float64("nan"))
    }
    assert len(keys) == 1
    assert board_key("sig", [(1, {"head.dice": 0.9}), (2, {"head.dice": 0.5})]) not in keys


def test_a_board_with_a_missing_mean_matches_its_analysis_when_frozen(board, client) -> None:  # noqa: F811
    phase, submit, organiser = board
    submit("red", 0.90, noise_seed=1)
    submit("blue", 0.80, noise_seed=2)
    gap = submit("grey", 0.70, noise_seed=3)
    # Its Dice mean is missing (NaN computed, stored as null), in every scope.
    evaluation = Evaluation.objects.get(submission=gap, is_current=True)
    values = evaluation.board_values
    for scope in values.values():
        scope["head"]["dice"]["mean"] = None
    Evaluation.objects.filter(pk=evaluation.pk).update(board_values=values)
    BoardMeans.objects.filter(evaluation=evaluation).update(means={"head.dice": None})
    recompute(phase)
    analyse_phase(phase.pk)
    assert leaderboard_table(phase).analysis["status"] == "current"
    newest = LeaderboardSnapshot.objects.filter(phase=phase, site=None).latest("computed_at")
    assert newest.intervals_at is not None
    frozen = freeze(phase, by=organiser.username)
    assert frozen.analysis is not None and frozen.intervals_at is not None
