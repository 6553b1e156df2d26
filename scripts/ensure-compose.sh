#!/usr/bin/env bash
# Makes both Compose CLIs available, because mesh-local is tested with both:
#  - v2, the `docker compose` plugin: what users run today and mesh-local's default;
#  - v1, the standalone `docker-compose` (1.29): a smaller end-to-end set keeps it working.
#
# Debian 12 (bookworm) ships only v1 (1.29.2). Debian 13 (trixie) ships v2 (2.26) in its
# `docker-compose` package, a Go program that needs nothing but libc >= 2.34 (bookworm has 2.36).
# On Debian 12 this script therefore downloads that one package with a private apt: its own
# sources.list naming trixie, its own lists, cache and (empty) status under $APT_DIR. /etc/apt and
# the system's package database are never touched and nothing else comes from trixie. It unpacks
# the package with dpkg-deb and installs only the plugin binary, as
# $PLUGIN_DIR/docker-compose. The package's /usr/bin/docker-compose (a symlink to the plugin) is
# not installed: Debian 12's /usr/bin/docker-compose stays v1.
# On Debian 13, apt installs v2 directly. v1 is not available there (see no_v1_reason).
#
#   bash scripts/ensure-compose.sh             make both available (as root on Debian), or explain
#   bash scripts/ensure-compose.sh --expected  print the variants this host must have, "v2 v1" or
#                                              "v2"; the reason for a missing one goes to stderr
#
# Idempotent: when both answer, it only asks them their versions (well under a second).
set -euo pipefail

log() { printf 'ensure-compose: %s\n' "$*" >&2; }

APT_DIR=${MESH_LOCAL_COMPOSE_APT_DIR:-/var/cache/mesh-local/compose-apt}
MIRROR=${MESH_LOCAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
V2_SUITE=trixie
# An admin-local plugin directory the Docker CLI searches (before /usr/libexec/docker/cli-plugins,
# where a packaged plugin would go); dpkg owns nothing here.
PLUGIN_DIR=${MESH_LOCAL_COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Major version of Debian (12, 13, ...), 0 when this is not Debian. Testing and sid say
# "trixie/sid" or similar: they count as newer than any release.
debian_major() {
  local version
  version=$(cat /etc/debian_version 2>/dev/null) || { echo 0; return; }
  case "$version" in
    [0-9]*) echo "${version%%.*}" ;;
    *) echo 99 ;;
  esac
}

# Why v1 cannot be had here, or nothing when it can.
no_v1_reason() {
  if [ "$(debian_major)" -ge 13 ]; then
    # Checked on a trixie root: bookworm's docker-compose 1.29.2 (Python) does not install, as it
    # depends on python3-distutils, which trixie no longer has; unpacked by hand it needs the
    # `pipes` and `distutils` modules Python 3.13 dropped, and its docker-py 5 fails with trixie's
    # requests 2.32 ("Not supported URL scheme http+docker"). Making it run would mean carrying
    # bookworm's whole Python stack.
    echo "Debian $(debian_major) has no Compose v1: its archive holds only v2, and bookworm's docker-compose 1.29.2 does not run on its Python 3.13"
  fi
}

v2_version() { docker compose version --short 2>/dev/null; }
# v1 only: on Debian 13, docker-compose is a symlink to the v2 plugin.
v1_version() {
  local version
  version=$(docker-compose version --short 2>/dev/null) || return 1
  case "$version" in 1.*) echo "$version" ;; *) return 1 ;; esac
}

if [ "${1:-}" = --expected ]; then
  reason=$(no_v1_reason)
  if [ -n "$reason" ]; then
    log "no Compose v1 run here: $reason"
    echo v2
  else
    echo v2 v1
  fi
  exit 0
fi

can_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(debian_major)" -ge 12 ]
}

apt_install() {
  log "installing $* from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# apt-get with every file of its own under $APT_DIR: sources, lists, cache, an empty dpkg status.
# The system's apt.conf.d (proxies and the like) still applies.
private_apt() {
  apt-get -qq \
    -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
    -o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
    -o Dir::Etc::Preferences="$APT_DIR/preferences" \
    -o Dir::Etc::PreferencesParts="$APT_DIR/preferences.d" \
    -o Dir::State="$APT_DIR/state" \
    -o Dir::State::status="$APT_DIR/state/status" \
    -o Dir::Cache="$APT_DIR/cache" \
    -o Acquire::Languages=none \
    "$@"
}

# Debian 12: trixie's docker-compose package, unpacked; only its plugin binary is installed.
install_v2_from_trixie() {
  log "installing Compose v2: the plugin binary of $V2_SUITE's docker-compose package (private apt in $APT_DIR)"
  if ! grep -qs . "$KEYRING"; then
    log "$KEYRING is missing; apt-get install debian-archive-keyring"
    return 1
  fi
  mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/preferences.d" "$APT_DIR/state/lists/partial" \
    "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
  : >"$APT_DIR/state/status"
  echo "deb [signed-by=$KEYRING] $MIRROR $V2_SUITE main" >"$APT_DIR/sources.list"
  private_apt update
  rm -f "$APT_DIR"/debs/docker-compose_*.deb
  # apt downloads as its _apt user where it can write; without this it warns and downloads as root.
  if id _apt >/dev/null 2>&1; then chown _apt "$APT_DIR/debs"; fi
  (cd "$APT_DIR/debs" && private_apt download docker-compose)
  local deb unpacked="$APT_DIR/unpacked" plugin
  deb=$(ls "$APT_DIR"/debs/docker-compose_*.deb)
  rm -rf "$unpacked"
  dpkg-deb -x "$deb" "$unpacked"
  plugin="$unpacked/usr/libexec/docker/cli-plugins/docker-compose"
  if [ ! -x "$plugin" ]; then
    log "$(basename "$deb") has no usr/libexec/docker/cli-plugins/docker-compose; its files:"
    dpkg-deb -c "$deb" | grep -v '/share/' >&2
    return 1
  fi
  local version
  if ! version=$("$plugin" version --short 2>&1) || [ "${version%%.*}" -lt 2 ]; then
    log "the plugin from $(basename "$deb") does not run here: $version"
    return 1
  fi
  install -D -m 0755 "$plugin" "$PLUGIN_DIR/docker-compose"
  rm -rf "$unpacked"
  log "installed $PLUGIN_DIR/docker-compose (Compose $version, from $(basename "$deb"))"
}

if ! command -v docker >/dev/null 2>&1; then
  log "the docker CLI is missing, and Compose v2 is a plugin of it; scripts/ensure-docker.sh installs it"
  exit 1
fi

v2=$(v2_version || true)
v1=$(v1_version || true)
v1_reason=$(no_v1_reason)
if [ -n "$v2" ] && { [ -n "$v1" ] || [ -n "$v1_reason" ]; }; then
  exit 0
fi

if can_install; then
  if [ "$(debian_major)" -ge 13 ]; then
    [ -n "$v2" ] || apt_install docker-compose
  else
    [ -n "$v1" ] || apt_install docker-compose
    [ -n "$v2" ] || install_v2_from_trixie
  fi
  v2=$(v2_version || true)
  v1=$(v1_version || true)
fi

status=0
if [ -n "$v2" ]; then log "Compose v2: docker compose $v2"; else
  log "Compose v2 (docker compose) is missing: install the Compose plugin (https://docs.docker.com/compose/install/linux/); as root on Debian 12 or 13 this script does it"
  status=1
fi
if [ -n "$v1" ]; then log "Compose v1: docker-compose $v1"
elif [ -n "$v1_reason" ]; then log "Compose v1: none; $v1_reason"
else
  log "Compose v1 (docker-compose 1.29) is missing: on Debian 12, apt-get install docker-compose; as root this script does it"
  status=1
fi
# Without root or apt, one variant is enough to run mesh-local; the tests name the missing one.
if [ -z "$v2" ] && [ -z "$v1" ]; then exit 1; fi
can_install && exit "$status"
exit 0
