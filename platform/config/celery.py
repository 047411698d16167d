"""The Celery application: Redis when REDIS_URL is set, a file-based broker otherwise.

Start a worker with `celery -A config worker -Q scoring` from `platform/` on the path (the
run script and docker-compose do this). Tasks are acknowledged late so that a worker that dies
mid-task hands the submission back to the queue instead of losing it.
"""

import os

from celery import Celery

from . import paths  # noqa: F401  (path set-up for `celery -A config`)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fetalbench")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
