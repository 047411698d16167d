#!/usr/bin/env bash
# Build the example model container from local files only and save it for submission:
#   bash examples/model-container/build.sh [OUT.tar]
# The Debian base (python3 + numpy + Pillow) comes from debootstrap and is cached under
# $FETALBENCH_CACHE (default /var/cache/fetalbench), keyed by a hash of its recipe, because
# debootstrap takes minutes. Needs root (debootstrap) and a Docker daemon.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/model-container.tar}"
cache="${FETALBENCH_CACHE:-/var/cache/fetalbench}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages="python3,python3-numpy,python3-pil"
recipe="debootstrap --variant=minbase --include=$packages $suite $mirror v1"
key="$(printf '%s' "$recipe" | sha256sum | cut -c1-16)"
base="fetalbench/python-base:$key"

if ! docker image inspect "$base" >/dev/null 2>&1; then
  rootfs_tar="$cache/python-base-$key.tar"
  if [ ! -s "$rootfs_tar" ]; then
    mkdir -p "$cache"
    work="$(mktemp -d "$cache/rootfs-XXXXXX")"
    # A failed debootstrap can leave proc/sys mounted inside the chroot: unmount before rm.
    cleanup() {
      grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
      rm -rf "$work"
    }
    trap cleanup EXIT
    echo "build: debootstrap $suite with $packages (minutes; cached afterwards)" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >&2
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -cf "$rootfs_tar.part" .
    mv "$rootfs_tar.part" "$rootfs_tar"
  fi
  docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$rootfs_tar" "$base" >/dev/null
fi
docker build -q --build-arg "BASE=$base" -t fetalbench/example-model:latest "$here" >/dev/null
docker save fetalbench/example-model:latest -o "$out"
echo "$out"
