"""Leaderboard ranking and materialisation on synthetic Evaluation rows (no worker needed)."""

from __future__ import annotations

import pytest
from challenges import leaderboards
from challenges.leaderboards import competition_ranks, leaderboard_table, recompute
from challenges.models import Case, Evaluation, Site, Submission, Team

pytestmark = pytest.mark.django_db


def test_competition_ranking_ties_share_and_skip() -> None:
    assert competition_ranks([0.9, 0.9, 0.8], higher_first=True) == [1, 1, 3]
    assert competition_ranks([3.0, 1.0, 1.0], higher_first=False) == [3, 1, 1]


def test_missing_values_rank_last_never_first() -> None:
    assert competition_ranks([None, 0.5, 0.7], higher_first=True) == [3, 2, 1]
    assert competition_ranks([None, 5.0, 1.0], higher_first=False) == [3, 2, 1]
    assert competition_ranks([None, None], higher_first=True) == [1, 1]


def _results(per_scope: dict[str, dict[str, float]]) -> dict:
    """Results dict with aggregates {scope: {head: {metric: {mean, ci...}}}}."""
    aggregates = {
        scope: {
            "head": {
                m: {
                    "mean": v,
                    "ci95_low": None if v is None else v - 0.01,
                    "ci95_high": None if v is None else v + 0.01,
                    "n": 5,
                    "n_nan": 0 if v is not None else 5,
                }
                for m, v in metrics.items()
            }
        }
        for scope, metrics in per_scope.items()
    }
    return {"task": "hc18", "evaluator_version": "test", "cases": [], "aggregates": aggregates}


@pytest.fixture
def board(make_challenge, make_user):
    challenge, phase = make_challenge()
    for name in ("a", "b"):
        site = Site.objects.create(challenge=challenge, name=name)
        Case.objects.create(
            phase=phase, case_id=f"c-{name}", site=site, spacing_row_mm=1, spacing_col_mm=1
        )

    def submit(team_or_user, scores: dict[str, dict[str, float]], **fields) -> Submission:
        if isinstance(team_or_user, Team):
            team, user = team_or_user, team_or_user.members.first()
        else:
            team, user = None, team_or_user
        sub = Submission.objects.create(
            phase=phase, creator=user, team=team, status=Submission.Status.DONE, **fields
        )
        Evaluation.objects.create(submission=sub, results=_results(scores))
        return sub

    def team(name: str) -> Team:
        t = Team.objects.create(challenge=challenge, name=name)
        t.members.add(make_user(f"user-{name}"))
        return t

    return phase, submit, team


def _ranks(phase, site=None) -> list[tuple[str, int]]:
    return [(r.participant, r.rank) for r in leaderboard_table(phase, site).rows]


def test_primary_metric_best_entry_per_team_and_ties(board) -> None:
    phase, submit, team = board
    red, blue, green = team("red"), team("blue"), team("green")
    submit(red, {"all": {"dice": 0.80}, "a": {"dice": 0.7}, "b": {"dice": 0.9}})
    submit(red, {"all": {"dice": 0.90}, "a": {"dice": 0.95}, "b": {"dice": 0.85}})
    submit(blue, {"all": {"dice": 0.90}, "a": {"dice": 0.6}, "b": {"dice": 0.99}})
    submit(green, {"all": {"dice": 0.50}, "a": {"dice": 0.99}})  # no site b values
    recompute(phase)
    assert _ranks(phase) == [("red", 1), ("blue", 1), ("green", 3)]
    assert _ranks(phase, "a") == [("green", 1), ("red", 2), ("blue", 3)]
    # site b: green has no value there -> last, never first
    assert _ranks(phase, "b")[-1] == ("green", 3)
    assert _ranks(phase, "b")[0] == ("blue", 1)


def test_latest_entry_selection_and_user_without_team(board, make_user) -> None:
    phase, submit, team = board
    phase.entry_selection = "latest"
    phase.save()
    red = team("red")
    submit(red, {"all": {"dice": 0.95}})
    submit(red, {"all": {"dice": 0.70}})  # latest, worse
    baseline = make_user("baseline-bot")
    submit(baseline, {"all": {"dice": 0.80}}, method_name="U-Net baseline")
    recompute(phase)
    table = leaderboard_table(phase)
    assert [(r.participant, r.rank) for r in table.rows] == [("baseline-bot", 1), ("red", 2)]
    assert table.rows[1].values["head.dice"]["mean"] == pytest.approx(0.70)


def test_mean_rank_with_directions(board) -> None:
    phase, submit, team = board
    phase.ranking_method = "mean_rank"
    phase.ranking_metrics = [{"metric": "head.dice"}, {"metric": "head.hd95"}]
    phase.save()
    # red: dice rank 1, hd95 rank 3 -> 2.0; blue: 2, 1 -> 1.5; green: 3, 2 -> 2.5
    submit(team("red"), {"all": {"dice": 0.95, "hd95": 9.0}})
    submit(team("blue"), {"all": {"dice": 0.90, "hd95": 2.0}})
    submit(team("green"), {"all": {"dice": 0.85, "hd95": 3.0}})
    recompute(phase)
    table = leaderboard_table(phase)
    assert [(r.participant, r.rank, r.score) for r in table.rows] == [
        ("blue", 1, 1.5),
        ("red", 2, 2.0),
        ("green", 3, 2.5),
    ]
    directions = {c.key: c.higher_is_better for c in table.columns}
    assert directions == {"head.dice": True, "head.hd95": False}


def test_disqualified_and_unfinished_excluded_and_missing_last(board) -> None:
    phase, submit, team = board
    cheat = submit(team("cheat"), {"all": {"dice": 0.999}})
    Submission.objects.filter(pk=cheat.pk).update(disqualified=True)
    submit(team("nan"), {"all": {"dice": None}})  # evaluator writes NaN as null
    submit(team("ok"), {"all": {"dice": 0.5}})
    failed = submit(team("failed"), {"all": {"dice": 0.99}})
    Submission.objects.filter(pk=failed.pk).update(status=Submission.Status.FAILED)
    recompute(phase)
    assert _ranks(phase) == [("ok", 1), ("nan", 2)]


def test_table_queries_do_not_grow(board, django_assert_max_num_queries) -> None:
    phase, submit, team = board
    for i in range(30):
        submit(team(f"t{i}"), {"all": {"dice": i / 30}, "a": {"dice": 0.5}})
    recompute(phase)
    with django_assert_max_num_queries(4):
        table = leaderboard_table(phase)
        assert len(table.rows) == 30
        assert table.to_csv().count("\n") == 31


def test_default_criteria_come_from_the_task(board) -> None:
    phase, _, _ = board
    keys = [c.path for c in leaderboards.ranking_criteria(phase)]
    assert keys[0] == "head.dice"


def test_directions_are_the_evaluators_for_every_column(board) -> None:
    """Ranking and extra columns carry the evaluator's MetricSpec, one table for every name
    the evaluator writes (biometry included): measurements sort ascending with no better
    side."""
    from evaluator.metric_spec import MetricSpec

    phase, submit, team = board
    phase.ranking_metrics = [{"metric": "head.hc_abs_diff_mm"}]
    phase.save()
    submit(team("far"), {"all": {"hc_abs_diff_mm": 9.0, "iou": 0.7, "hc_pred_mm": 180.0}})
    submit(team("near"), {"all": {"hc_abs_diff_mm": 1.0, "iou": 0.6, "hc_pred_mm": 171.0}})
    recompute(phase)
    table = leaderboard_table(phase)
    assert [r.participant for r in table.rows] == ["near", "far"]
    metrics = ("hc_abs_diff_mm", "iou", "hc_pred_mm")
    specs = {c.metric: c.spec for c in table.columns}
    assert specs == {m: MetricSpec.of(f"head.{m}") for m in metrics}
    directions = {c.metric: c.direction for c in table.columns}
    assert directions == {"hc_abs_diff_mm": "lower", "iou": "higher", "hc_pred_mm": None}
    sort = {c.metric: c.higher_is_better for c in table.columns}
    assert sort == {"hc_abs_diff_mm": False, "iou": True, "hc_pred_mm": False}
    column = next(c for c in table.as_dict()["columns"] if c["metric"] == "hc_pred_mm")
    assert column == {
        "key": "head.hc_pred_mm",
        "class_name": "head",
        "metric": "hc_pred_mm",
        "higher_is_better": False,
        "ranking": False,
        "label": "head HC predicted (mm)",
        "direction": None,
        "metric_label": "HC predicted (mm)",
    }


# --------------------------------------------------------------------------------------------
# Every entry (`?entries=all`): one row per scored submission, for strategy comparisons


def test_all_entries_rank_every_scored_submission(board) -> None:
    from challenges.leaderboards import all_entries_table

    phase, submit, team = board
    red, blue = team("red"), team("blue")
    r1 = submit(red, {"all": {"dice": 0.80}, "a": {"dice": 0.9}}, method_name="red scratch")
    r2 = submit(red, {"all": {"dice": 0.90}, "a": {"dice": 0.7}}, method_name="red full")
    b1 = submit(blue, {"all": {"dice": 0.85}, "a": {"dice": 0.8}}, method_name="blue decoder")
    cheat = submit(blue, {"all": {"dice": 0.99}})
    Submission.objects.filter(pk=cheat.pk).update(disqualified=True)
    failed = submit(blue, {"all": {"dice": 0.99}})
    Submission.objects.filter(pk=failed.pk).update(status=Submission.Status.FAILED)
    recompute(phase)

    assert [r.submission_id for r in leaderboard_table(phase).rows] == [r2.pk, b1.pk]
    table = all_entries_table(phase)
    assert table.entry_selection == "all" and table.site is None
    assert [(r.submission_id, r.rank, r.participant) for r in table.rows] == [
        (r2.pk, 1, "red"),
        (b1.pk, 2, "blue"),
        (r1.pk, 3, "red"),
    ]
    assert table.rows[0].values["head.dice"] == {"mean": 0.9, "ci95_low": 0.89, "ci95_high": 0.91}
    assert table.rows[2].method_name == "red scratch"
    site_a = all_entries_table(phase, "a")
    assert [(r.submission_id, r.rank) for r in site_a.rows] == [(r1.pk, 1), (b1.pk, 2), (r2.pk, 3)]
    assert site_a.site == "a"
    # site b: nobody has a value there -> every entry present, all tied last
    assert {r.rank for r in all_entries_table(phase, "b").rows} == {1}
    csv_lines = table.to_csv().splitlines()
    assert len(csv_lines) == 4 and csv_lines[1].startswith(f"1,0.9,{r2.pk},red,red full")


def test_all_entries_mean_rank_and_flat_queries(board, django_assert_max_num_queries) -> None:
    from challenges.leaderboards import all_entries_table

    phase, submit, team = board
    phase.ranking_method = "mean_rank"
    phase.ranking_metrics = [{"metric": "head.dice"}, {"metric": "head.hd95"}]
    phase.save()
    red = team("red")
    submit(red, {"all": {"dice": 0.95, "hd95": 9.0}})  # ranks 1, 3 -> 2.0
    submit(red, {"all": {"dice": 0.90, "hd95": 2.0}})  # ranks 2, 1 -> 1.5
    submit(team("green"), {"all": {"dice": 0.85, "hd95": 3.0}})  # ranks 3, 2 -> 2.5
    assert [(r.participant, r.rank, r.score) for r in all_entries_table(phase).rows] == [
        ("red", 1, 1.5),
        ("red", 2, 2.0),
        ("green", 3, 2.5),
    ]
    for i in range(30):
        submit(red, {"all": {"dice": i / 30, "hd95": 1.0}})
    with django_assert_max_num_queries(3):
        assert len(all_entries_table(phase).rows) == 33


def test_entries_option_is_checked() -> None:
    from challenges.leaderboards import EntriesError, wants_all_entries

    assert wants_all_entries("all") and not wants_all_entries(None) and not wants_all_entries("")
    with pytest.raises(EntriesError, match="entries=all"):
        wants_all_entries("every")


def test_pages_toggle_every_entry(client, board) -> None:
    import json

    phase, submit, team = board
    red = team("red")
    submit(red, {"all": {"dice": 0.8}, "a": {"dice": 0.8}}, method_name="red scratch")
    submit(red, {"all": {"dice": 0.9}, "a": {"dice": 0.9}}, method_name="red full")
    recompute(phase)
    url = f"/phases/{phase.pk}/leaderboard/"
    default = client.get(url).content.decode()
    assert "red full" in default and "red scratch" not in default
    assert f'id="entries-toggle" href="{url}?entries=all"' in default
    every = client.get(url + "?entries=all&site=a").content.decode()
    assert "red full" in every and "red scratch" in every
    assert "every scored submission, one row each" in every
    assert f'id="entries-toggle" href="{url}?site=a"' in every  # back to one row per team
    assert 'href="?site=all&amp;entries=all"' in every  # the site tabs keep the choice
    assert "leaderboard.csv?site=a&amp;entries=all" in every
    assert f"/phases/{phase.pk}/pareto/?site=a&amp;entries=all" in every
    assert client.get(url + "?entries=every").status_code == 400

    pareto = client.get(f"/phases/{phase.pk}/pareto/?entries=all").content.decode()
    start = pareto.index('id="pareto-data"')
    data = json.loads(pareto[pareto.index(">", start) + 1 : pareto.index("</script>", start)])
    assert sorted(r["method_name"] for r in data["rows"]) == ["red full", "red scratch"]
    assert "One point per team" in pareto
    one = client.get(f"/phases/{phase.pk}/pareto/").content.decode()
    assert "red scratch" not in one and f'href="/phases/{phase.pk}/pareto/?entries=all"' in one


# --------------------------------------------------------------------------------------------
# Scopes: one rule for which boards exist, asked by recompute, the tables, the API and pages


def test_scope_for_names_every_board_one_way(board, client, make_challenge) -> None:
    from challenges.leaderboards import ALL_CASES, UnknownSite, board_scopes, scope_for

    phase, submit, team = board
    challenge = phase.challenge
    # A site of the challenge without cases in this phase has an empty board, on the API
    # and the page alike; a name that is no site of the challenge has none anywhere.
    elsewhere = Site.objects.create(challenge=challenge, name="elsewhere")
    other = make_challenge(slug="other")[0]
    Site.objects.create(challenge=other, name="foreign")
    submit(team("red"), {"all": {"dice": 0.9}, "a": {"dice": 0.8}})
    recompute(phase)
    for name in (None, "", "all"):
        assert scope_for(phase, name) == ALL_CASES and ALL_CASES.key == "all"
    site_a = scope_for(phase, "a")
    assert (site_a.site_name, site_a.key) == ("a", "a")
    assert scope_for(phase, site_a.site) == site_a and scope_for(phase, site_a) is site_a
    assert scope_for(phase, "elsewhere").site == elsewhere
    with pytest.raises(UnknownSite):
        scope_for(phase, "foreign")
    assert [s.key for s in board_scopes(phase)] == ["all", "a", "b"]
    assert leaderboard_table(phase, "elsewhere").rows == []
    # recompute wrote rows for exactly those scopes; the tables read them by scope.
    assert set(phase.leaderboard_entries.values_list("site__name", flat=True)) == {None, "a", "b"}
    assert leaderboard_table(phase, site_a).as_dict()["site"] == "a"
    assert leaderboard_table(phase, "all").as_dict()["site"] == "all"
    # Both front doors ask scope_for: the page and the API agree on every name.
    for name, status in (("a", 200), ("all", 200), ("elsewhere", 200), ("foreign", 404)):
        page = client.get(f"/phases/{phase.pk}/leaderboard/?site={name}")
        api = client.get(f"/api/phases/{phase.pk}/leaderboard/?site={name}")
        path = client.get(f"/api/phases/{phase.pk}/leaderboard/sites/{name}/")
        assert (page.status_code, api.status_code, path.status_code) == (status,) * 3, name


def test_ranking_metrics_read_the_same_everywhere(board, client) -> None:
    """Stored in the task's ranking shape; the API publishes the pairs its clients read
    (reference_models' primary_metric), the phase page names them as before, and the
    submission's own scores mark them."""
    phase, submit, team = board
    phase.ranking_metrics = [{"metric": "head.hd95"}, {"metric": "head.dice"}]
    phase.save()
    api = client.get(f"/api/phases/{phase.pk}/").json()["ranking_metrics"]
    assert api == [{"class": "head", "metric": "hd95"}, {"class": "head", "metric": "dice"}]
    assert "head hd95, head dice" in client.get(f"/phases/{phase.pk}/").content.decode()
    from challenges.services.scores import submission_scores

    scores = submission_scores(submit(team("red"), {"all": {"dice": 0.9, "hd95": 3.0}}))
    assert scores["ranking"] == ["head.hd95", "head.dice"]
    assert [m["higher_is_better"] for m in scores["metrics"]] == [False, True]
