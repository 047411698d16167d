#!/usr/bin/env bash
# Build the example model container from local files only and save it for submission:
#   bash examples/model-container/build.sh [OUT.tar]
# The Debian base (python3 + numpy + Pillow) comes from scripts/debian-python-base.sh:
# debootstrap, cached under $FETALBENCH_CACHE (default /var/cache/fetalbench) and shared with
# every other fetalbench model container. Needs root (debootstrap) and a Docker daemon.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/model-container.tar}"
base="$(bash "$here/../../scripts/debian-python-base.sh")"
docker build -q --build-arg "BASE=$base" -t fetalbench/example-model:latest "$here" >/dev/null
docker save fetalbench/example-model:latest -o "$out"
echo "$out"
