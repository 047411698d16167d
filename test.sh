#!/usr/bin/env bash
# Runs the whole test suite: sets up what it needs, then lint and pytest.
# Tests run against this machine's real PostgreSQL and Redis; set DATABASE_URL / REDIS_URL
# to point elsewhere. Extra arguments go to pytest (e.g. `bash test.sh -k metrics`).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
bash scripts/services.sh
bash scripts/docker.sh
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/15}"
export FETALBENCH_VAR="${FETALBENCH_VAR:-$PWD/var/test}"
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
