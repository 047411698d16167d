#!/usr/bin/env bash
# Build this model container from local files only and `docker save` it for submission
# (kind=container):   bash build.sh [OUT.tar | OUT.tar.gz]
# (default OUT: model-container.tar next to this folder).
# The Debian base comes from debian-python-base.sh (debootstrap once, cached under
# $FETALBENCH_CACHE, default /var/cache/fetalbench, and shared with every fetalbench model
# container). Needs root the first time (debootstrap) and a Docker daemon; no registry.
# Prints the archive's path, then the image tag, one per line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$(dirname "$here")/model-container.tar}"
# One tag per model, so two exports never overwrite each other's image.
tag="fetalbench/reference-model:$(sha256sum "$here/model.onnx" | cut -c1-16)"
base="$(bash "$here/debian-python-base.sh")"
docker build -q --build-arg "BASE=$base" -t "$tag" "$here" >/dev/null
if [[ "$out" == *.gz ]]; then  # the platform takes .tar.gz too: about a third of the size
  docker save "$tag" | gzip -1 >"$out.part" && mv "$out.part" "$out"
else
  docker save "$tag" -o "$out"
fi
echo "$out"
echo "$tag"
