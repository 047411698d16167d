#!/usr/bin/env bash
# Make (once) the offline Debian base image that fetalbench's model containers build FROM, and
# print its tag: python3 + numpy + Pillow + pip from `debootstrap`, imported with `docker import`.
#   base="$(bash scripts/debian-python-base.sh)"
# No registry is needed, only a Debian mirror the first time. debootstrap takes minutes, so the
# root filesystem is cached under $FETALBENCH_CACHE (default /var/cache/fetalbench) and the image
# is tagged fetalbench/python-base:<key>, <key> being a hash of the recipe: change the recipe and
# both are rebuilt, keep it and every caller (examples/model-container/build.sh, the generated
# reference-model contexts, their tests) shares one. Needs root (debootstrap) and a Docker daemon.
# Progress goes to stderr; stdout is only the tag.
set -euo pipefail
cache="${FETALBENCH_CACHE:-/var/cache/fetalbench}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# pip installs the wheels a generated reference-model context carries (no registry needed).
packages="python3,python3-numpy,python3-pil,python3-pip"
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
    echo "base: debootstrap $suite with $packages (minutes; cached afterwards)" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >&2
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -cf "$rootfs_tar.part" .
    mv "$rootfs_tar.part" "$rootfs_tar"
  fi
  docker import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$rootfs_tar" "$base" >/dev/null
fi
echo "$base"
