#!/usr/bin/env bash
# Make sure a Docker daemon answers, for the model-container sandbox (platform/sandbox) and its
# tests. Idempotent: installs docker.io, busybox-static (hostile test images) and debootstrap
# (the Python example image) from Debian when missing, and starts dockerd without a bridge or
# iptables rules (sandboxed containers run with network "none" anyway) when the socket is silent.
set -uo pipefail

need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "docker: installing ${need_apt[*]} from Debian"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null || \
      echo "docker: apt-get install failed; sandbox tests will skip" >&2
  else
    echo "docker: missing ${need_apt[*]} and not root; sandbox tests will skip" >&2
  fi
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi
if command -v dockerd >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "docker: starting dockerd"
  mkdir -p /var/log
  nohup dockerd --bridge=none --iptables=false >/var/log/dockerd-fetalbench.log 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "docker: the daemon did not come up; sandbox tests will skip" >&2
exit 0
