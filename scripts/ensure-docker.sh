#!/usr/bin/env bash
# Makes a Docker Engine and both Compose CLIs available, or explains how to get them.
#  - `docker info` answers: use that engine as it is.
#  - Debian, as root: apt-get install docker.io, start dockerd in the background, and wait until
#    it answers.
#  - Compose v2 and v1: scripts/ensure-compose.sh, once the docker CLI is there.
# Safe to run again at any time; it never starts a second dockerd.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/mesh-local-dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}
ENSURE_COMPOSE="$(dirname "${BASH_SOURCE[0]}")/ensure-compose.sh"

can_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

apt_install() {
  log "installing $* from Debian's packages"
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if docker info >/dev/null 2>&1; then
  exec bash "$ENSURE_COMPOSE"
fi

if ! can_install; then
  log "no Docker Engine answers ('docker info' failed) and this is not Debian as root,"
  log "so it cannot be installed here. Install Docker Engine and Compose"
  log "(https://docs.docker.com/engine/install/), start it, or point DOCKER_HOST at a running engine."
  exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
# iptables and the kernel module tools are what dockerd and the sidecar init steps rely on.
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
bash "$ENSURE_COMPOSE"

if [ -n "${DOCKER_HOST:-}" ]; then
  log "DOCKER_HOST=$DOCKER_HOST does not answer; unset it to use a local dockerd"
  exit 1
fi

if pgrep -x dockerd >/dev/null 2>&1; then
  log "dockerd is running but not answering yet; waiting"
else
  log "starting dockerd (log: $DOCKERD_LOG)"
  nohup dockerd >"$DOCKERD_LOG" 2>&1 &
fi

for _ in $(seq 1 "$WAIT_SECONDS"); do
  if docker info >/dev/null 2>&1; then
    log "Docker Engine $(docker version --format '{{.Server.Version}}') is ready"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within ${WAIT_SECONDS}s; last lines of $DOCKERD_LOG:"
tail -n 20 "$DOCKERD_LOG" >&2 || true
exit 1
