"""Migration 0008: a phase's ranking metrics move to the task's ranking shape (issue 11, step 4).

Rows are written in the old shape by the models as they were at 0007, the migration runs on
the real database (PostgreSQL), and the phase then reads, ranks and re-saves as before; the
way back restores the old pairs. The database is left migrated to the latest state.
"""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("challenges", "0007_submission_failure_code")]
AFTER = [("challenges", "0008_ranking_metrics_task_shape")]
MIGRATION = importlib.import_module("challenges.migrations.0008_ranking_metrics_task_shape")


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_the_rewrite_of_one_value() -> None:
    old = [{"class": "head", "metric": "dice"}, {"class": "head", "metric": "hc_abs_diff_mm"}]
    new = [{"metric": "head.dice"}, {"metric": "head.hc_abs_diff_mm"}]
    assert MIGRATION.to_task_shape(old) == new
    assert MIGRATION.to_class_metric_pairs(new) == old
    # Already migrated, hand-written paths, and what it cannot read (left for the reader
    # to refuse by name).
    assert MIGRATION.to_task_shape(new) == new
    assert MIGRATION.to_task_shape(["fh.dice"]) == [{"metric": "fh.dice"}]
    assert MIGRATION.to_task_shape([{"class": "head"}, 3]) == [{"class": "head"}, 3]
    assert MIGRATION.to_task_shape([]) == [] and MIGRATION.to_task_shape({}) == {}


@pytest.mark.django_db(transaction=True)
def test_old_rows_are_rewritten_and_rank_as_before() -> None:
    from challenges.leaderboards import ranking_criteria, ranking_signature
    from challenges.models import Phase

    try:
        executor = _migrate(BEFORE)
        apps = executor.loader.project_state(BEFORE).apps
        challenge = apps.get_model("challenges", "Challenge").objects.create(
            slug="old", title="Old", task_name="hc18"
        )
        old_phase = apps.get_model("challenges", "Phase")
        pairs = [{"class": "head", "metric": "hd95"}, {"class": "head", "metric": "dice"}]
        ranked = old_phase.objects.create(
            challenge=challenge, slug="ranked", title="Ranked", ranking_metrics=pairs
        )
        default = old_phase.objects.create(challenge=challenge, slug="default", title="Default")

        _migrate(AFTER)
        phase = Phase.objects.select_related("challenge").get(pk=ranked.pk)
        assert phase.ranking_metrics == [{"metric": "head.hd95"}, {"metric": "head.dice"}]
        assert [c.path for c in ranking_criteria(phase)] == ["head.hd95", "head.dice"]
        assert [c.higher_is_better for c in ranking_criteria(phase)] == [False, True]
        # The signature hashes the same paths as before: no board turns stale.
        signature = ranking_signature(phase)
        phase.check_ranking_metrics()  # the model's own check accepts the rewritten value
        assert Phase.objects.get(pk=default.pk).ranking_metrics == []

        _migrate(BEFORE)
        apps = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        back = apps.get_model("challenges", "Phase").objects.get(pk=ranked.pk)
        assert back.ranking_metrics == pairs
    finally:
        _migrate(_latest())
    assert ranking_signature(Phase.objects.get(pk=ranked.pk)) == signature


@pytest.mark.django_db
def test_the_reader_refuses_the_old_shape(make_challenge) -> None:
    """A value in the old shape that got past the migration (a raw UPDATE) is refused by
    name when read, never ranked by a metric in no group."""
    from challenges.leaderboards import ranking_criteria
    from challenges.models import Phase

    from evaluator.tasks import TaskError

    _, phase = make_challenge()
    Phase.objects.filter(pk=phase.pk).update(ranking_metrics=[{"class": "head", "metric": "dice"}])
    phase.refresh_from_db()
    with pytest.raises(TaskError, match="is not one of"):
        ranking_criteria(phase)
