#!/usr/bin/env bash
# Host tools the tests and the sandbox image build use: debootstrap (base image when no
# debian:bookworm-slim is loaded), etcd (the API server stand-in's test against a real etcd),
# openssl (the CA stand-in's tests) and Go (go-dockerclient's calls through the registrator's
# Docker API view). Installs what is missing on Debian as root; idempotent.
set -euo pipefail

missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
[ -x /usr/bin/etcd ] || missing+=(etcd-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Go replays go-dockerclient's requests against the registrator's Docker API view.
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: missing ${missing[*]}; install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "ensure-test-tools: installing ${missing[*]} from Debian's packages" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the etcd service on install; the tests run their own on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then systemctl stop etcd || true; fi
