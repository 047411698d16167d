#!/usr/bin/env bash
# The main job: set up, create demo challenges with seeded baseline submissions, then serve the
# site on 127.0.0.1:8000 with a Celery worker and beat. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
(cd platform && ../.venv/bin/celery -A config worker -Q scoring,inference -c 2 -l warning -B \
  -s "$PWD/../var/celerybeat-schedule") &
pids+=($!)
$PY manage.py seed_demo
echo "fetalbench: http://127.0.0.1:8000 (admin: organiser / organiser)"
$PY manage.py runserver 127.0.0.1:8000 --noreload
