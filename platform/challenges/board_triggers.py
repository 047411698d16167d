"""Re-rank a phase's board whenever a setting that decides it changes, wherever it is saved.

The admin, the API, the demo seeding and a shell all end in ``Phase.save``, so the check hangs
on the model's save signals rather than on one form: ``pre_save`` notes the board-deciding
settings as the database has them, ``post_save`` compares and, on a change, queues
``challenges.tasks.recompute_leaderboard`` on the scoring queue once the transaction has
committed (a worker must never read the old settings, nor re-rank for a save that rolled back).
The task is sent by its registered name, as ``challenges.services.dispatch`` sends the
submission tasks, so this module never imports the Celery module (which imports the services
and the leaderboards).

Until that task has run, the rows still carry the old ranking's signature
(``LeaderboardEntry.ranking_signature``), so pages and the API report the board as stale rather than
showing old ranks under the new method; organisers can recompute from the page.
``QuerySet.update`` skips these signals: the admin's publish/hide actions change visibility
only, which changes who sees the board, not its rows.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from challenges.models import Phase

log = logging.getLogger(__name__)

#: The registered name of ``challenges.tasks.recompute_leaderboard``.
RECOMPUTE_LEADERBOARD = "challenges.tasks.recompute_leaderboard"
#: Phase fields that decide a board's rows (or, for visibility, who may see them).
BOARD_FIELDS = ("ranking_method", "ranking_metrics", "entry_selection", "leaderboard_visibility")
_BEFORE = "_board_settings_before_save"


def board_settings(phase: Phase) -> tuple[Any, ...]:
    return tuple(getattr(phase, name) for name in BOARD_FIELDS)


@receiver(pre_save, sender=Phase, dispatch_uid="board_triggers.note_board_settings")
def note_board_settings(sender, instance: Phase, raw: bool = False, **kwargs) -> None:
    """Remember the stored settings (None for a new phase: it has no board yet)."""
    if raw or instance.pk is None:
        setattr(instance, _BEFORE, None)
        return
    stored = Phase.objects.filter(pk=instance.pk).values_list(*BOARD_FIELDS).first()
    setattr(instance, _BEFORE, stored)


@receiver(post_save, sender=Phase, dispatch_uid="board_triggers.rerank_on_change")
def rerank_on_change(sender, instance: Phase, created: bool, raw: bool = False, **kwargs) -> None:
    before = getattr(instance, _BEFORE, None)
    if raw or created or before is None or tuple(before) == board_settings(instance):
        return
    queue_recompute(instance.pk)


def queue_recompute(phase_id: int) -> None:
    """Send the recompute after commit. A broker that cannot be reached leaves the board
    marked stale (and logged), never fails the organiser's save."""

    def send() -> None:
        try:
            current_app.send_task(RECOMPUTE_LEADERBOARD, args=(phase_id,))
        except Exception:  # noqa: BLE001 - the stale notice and its button are the fallback
            log.exception("phase %s: leaderboard recompute not queued", phase_id)

    transaction.on_commit(send)
