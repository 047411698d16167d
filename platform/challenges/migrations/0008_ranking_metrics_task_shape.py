"""A phase's ranking metrics in the task's ranking shape (issue 11, step 4).

Before: ``[{"class": "head", "metric": "dice"}]``. After: ``[{"metric": "head.dice"}]``, the
entries a task file's ``ranking`` holds (``evaluator.tasks.parse_ranking`` reads only these),
so organisers write ranking metrics one way. The paths are the same strings the ranking
signature already used, so no board turns stale. The functions are pure, so a test can run
them on old rows directly as well as through the migration.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def to_task_shape(entries: Any) -> Any:
    """Old entries as ranking entries: ``{"class": c, "metric": m}`` -> ``{"metric": "c.m"}``;
    a bare ``"c.m"`` string (hand-written JSON) too. Entries already in the new shape, and
    anything unrecognisable, stay as they are: the reader then refuses them by name rather
    than this migration guessing."""
    if not isinstance(entries, list):
        return entries
    out = []
    for item in entries:
        if (
            isinstance(item, dict)
            and set(item) == {"class", "metric"}
            and all(isinstance(v, str) for v in item.values())
        ):
            out.append({"metric": f"{item['class']}.{item['metric']}"})
        elif isinstance(item, str) and "." in item:
            out.append({"metric": item})
        else:
            out.append(item)
    return out


def to_class_metric_pairs(entries: Any) -> Any:
    """The reverse: ``{"metric": "c.m"}`` -> ``{"class": "c", "metric": "m"}``."""
    if not isinstance(entries, list):
        return entries
    out = []
    for item in entries:
        if isinstance(item, dict) and isinstance(item.get("metric"), str) and "." in item["metric"]:
            group, _, metric = item["metric"].rpartition(".")
            out.append({"class": group, "metric": metric})
        else:
            out.append(item)
    return out


def _rewrite(apps, convert) -> None:
    phase_model = apps.get_model("challenges", "Phase")
    for phase in phase_model.objects.exclude(ranking_metrics=[]).iterator():
        new = convert(phase.ranking_metrics)
        if new != phase.ranking_metrics:
            phase.ranking_metrics = new
            # The historical model has no save() checks and no signals: only this field.
            phase.save(update_fields=["ranking_metrics"])


def forwards(apps, schema_editor) -> None:
    _rewrite(apps, to_task_shape)


def backwards(apps, schema_editor) -> None:
    _rewrite(apps, to_class_metric_pairs)


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0007_submission_failure_code"),
    ]

    operations = [
        migrations.AlterField(
            model_name="phase",
            name="ranking_metrics",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='List of {"metric": "class.metric"}, as in a task\'s ranking; first '
                "is primary. Empty: the task's own ranking.",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
