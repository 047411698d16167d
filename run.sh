#!/usr/bin/env bash
# The main job: set up, create demo challenges with seeded baseline submissions, then serve the
# site on 127.0.0.1:8000 with a Celery worker and beat, while reference models train and are
# submitted in the background. Ctrl-C stops everything.
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
# Reference-model baselines in the background: small U-Nets trained on public phantoms (once;
# cached under var/demo-reference), submitted through the API as soon as the site answers.
# Lines start with "reference:"; a failure here leaves the rest of the demo running.
$PY manage.py seed_demo_reference --url http://127.0.0.1:8000 &
pids+=($!)
echo "fetalbench: http://127.0.0.1:8000 (admin: organiser / organiser)"
$PY manage.py runserver 127.0.0.1:8000 --noreload
