#!/bin/sh
# The consul image's docker-entrypoint.sh (hashicorp/docker-consul 0.X, consul 1.3.0), as far as
# the sandbox needs it: the same rewriting of the arguments before consul runs.
#  - a first argument starting with '-' gets `consul` put before it (not `agent`);
#  - `agent ...` becomes `consul agent -data-dir=/consul/data -config-dir=/consul/config ...`,
#    with -bind/-client from CONSUL_BIND_INTERFACE/CONSUL_CLIENT_INTERFACE when set;
#  - `version` and other consul subcommands run as `consul ...`; anything else runs as given.
# Not copied: dumb-init as PID 1, the chown of the data dirs and su-exec to the consul user (this
# image already runs as an unprivileged user), setcap. /bin/consul is mesh-local's Consul stand-in.
set -e

# interface_option NAME INTERFACE: `-NAME=<the interface's first IPv4>`, or exit 1 when there is
# none. The sandbox image has no iproute2, so setting either variable ends here.
interface_option() {
  address=$(ip -o -4 addr list "$2" 2>/dev/null | head -n1 | awk '{print $4}' | cut -d/ -f1)
  if [ -z "$address" ]; then
    echo "Could not find IP for interface '$2', exiting" >&2
    exit 1
  fi
  echo "==> Found address '$address' for interface '$2', setting $1 option..." >&2
  echo "-$1=$address"
}

CONSUL_BIND=
if [ -n "$CONSUL_BIND_INTERFACE" ]; then CONSUL_BIND=$(interface_option bind "$CONSUL_BIND_INTERFACE"); fi
CONSUL_CLIENT=
if [ -n "$CONSUL_CLIENT_INTERFACE" ]; then CONSUL_CLIENT=$(interface_option client "$CONSUL_CLIENT_INTERFACE"); fi

CONSUL_DATA_DIR=/consul/data
CONSUL_CONFIG_DIR=/consul/config

case "$1" in
  -*) set -- consul "$@" ;;
esac

if [ "$1" = 'agent' ]; then
  shift
  # shellcheck disable=SC2086 # empty options vanish, as upstream's unquoted variables do
  set -- consul agent \
    -data-dir="$CONSUL_DATA_DIR" \
    -config-dir="$CONSUL_CONFIG_DIR" \
    $CONSUL_BIND \
    $CONSUL_CLIENT \
    "$@"
elif [ "$1" = 'version' ]; then
  set -- consul "$@"
elif consul --help "$1" 2>&1 | grep -q "consul $1"; then
  set -- consul "$@"
fi

exec "$@"
