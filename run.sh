#!/usr/bin/env bash
# The main job: set up, create demo challenges with seeded baseline submissions, then serve the
# site on 127.0.0.1:8000 (FETALBENCH_PORT) with a Celery worker and beat, while reference models train and are
# submitted in the background. Ctrl-C stops everything.
# FETALBENCH_PORT (default 8000) and FETALBENCH_VAR (default ./var: database, uploads, broker
# files, beat schedule) let a second copy run beside the first.
set -euo pipefail
cd "$(dirname "$0")"
PORT="${FETALBENCH_PORT:-8000}"
VAR="$(realpath -m "${FETALBENCH_VAR:-$PWD/var}")"
export FETALBENCH_VAR="$VAR"  # absolute: the worker runs from platform/
mkdir -p "$VAR"
bash scripts/setup.sh
PY=.venv/bin/python
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
(cd platform && ../.venv/bin/celery -A config worker -Q scoring,inference -c 2 -l warning -B \
  -s "$VAR/celerybeat-schedule") &
pids+=($!)
$PY manage.py seed_demo
# Reference-model baselines in the background: small U-Nets trained on public phantoms (once;
# cached under var/demo-reference), submitted through the API as soon as the site answers.
# Lines start with "reference:"; a failure here leaves the rest of the demo running.
$PY manage.py seed_demo_reference --url "http://127.0.0.1:$PORT" &
pids+=($!)
echo "fetalbench: http://127.0.0.1:$PORT (admin: organiser / organiser)"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload
