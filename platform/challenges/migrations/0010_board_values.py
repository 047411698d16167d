"""Compact board values beside each results document (issue 12, "Speed").

``Evaluation.board_values`` holds what leaderboards show of an evaluation (per scope, class and
metric: mean and 95 % interval; ``challenges.board_values``), and ``BoardMeans`` rows hold the
means alone, one small flat object per scope, which is all a recompute reads to rank. So
boards, the every-entry page and the board API no longer decode whole results documents
(every case's values). Existing evaluations are backfilled here from their results'
aggregates with the functions ``Evaluation.save`` uses for new ones (the database hands over
only the aggregates).

``LeaderboardEntry.evaluation`` says which evaluation a row's values were copied from, so a
recompute copies values only for new rows and rescored submissions. Existing rows start
without one: the next recompute copies their values once.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models
from django.db.models.fields.json import KeyTransform

from challenges.board_values import board_means, board_values

BATCH = 200


def backfill(apps, schema_editor) -> None:
    evaluation_model = apps.get_model("challenges", "Evaluation")
    means_model = apps.get_model("challenges", "BoardMeans")
    rows = (
        evaluation_model.objects.annotate(aggregates=KeyTransform("aggregates", "results"))
        .values_list("pk", "aggregates")
        .order_by("pk")
    )
    batch = []

    def flush() -> None:
        evaluation_model.objects.bulk_update(batch, ["board_values"])
        means_model.objects.bulk_create(
            means_model(evaluation_id=e.pk, scope=scope, means=means)
            for e in batch
            for scope, means in board_means(e.board_values).items()
            if len(scope) <= 100
        )
        batch.clear()

    for pk, aggregates in rows.iterator(chunk_size=BATCH):
        batch.append(evaluation_model(pk=pk, board_values=board_values({"aggregates": aggregates})))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0009_ranking_methods_analyses_snapshots"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluation",
            name="board_values",
            field=models.JSONField(
                blank=True,
                default=dict,
                editable=False,
                help_text="What the leaderboards read, {scope: {class: {metric: {mean, "
                "ci95_low, ci95_high}}}}, taken from the results' aggregates on save "
                "(challenges.board_values): a few kB, where the results hold every case.",
            ),
        ),
        migrations.AddField(
            model_name="leaderboardentry",
            name="evaluation",
            field=models.ForeignKey(
                blank=True,
                help_text="The evaluation ``values`` were copied from: a recompute copies them "
                "again only when the submission's current evaluation is another one.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="challenges.evaluation",
            ),
        ),
        migrations.CreateModel(
            name="BoardMeans",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.CharField(max_length=100)),
                ("means", models.JSONField(default=dict)),
                (
                    "evaluation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="board_means",
                        to="challenges.evaluation",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "board means",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("evaluation", "scope"), name="board_means_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
