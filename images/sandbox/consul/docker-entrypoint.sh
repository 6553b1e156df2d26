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

interface_ip() {
  ip -o -4 addr list "$1" 2>/dev/null | head -n1 | awk '{print $4}' | cut -d/ -f1
}

CONSUL_BIND=
if [ -n "$CONSUL_BIND_INTERFACE" ]; then
  CONSUL_BIND_ADDRESS=$(interface_ip "$CONSUL_BIND_INTERFACE")
  if [ -z "$CONSUL_BIND_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_BIND_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_BIND="-bind=$CONSUL_BIND_ADDRESS"
  echo "==> Found address '$CONSUL_BIND_ADDRESS' for interface '$CONSUL_BIND_INTERFACE', setting bind option..."
fi

CONSUL_CLIENT=
if [ -n "$CONSUL_CLIENT_INTERFACE" ]; then
  CONSUL_CLIENT_ADDRESS=$(interface_ip "$CONSUL_CLIENT_INTERFACE")
  if [ -z "$CONSUL_CLIENT_ADDRESS" ]; then
    echo "Could not find IP for interface '$CONSUL_CLIENT_INTERFACE', exiting"
    exit 1
  fi
  CONSUL_CLIENT="-client=$CONSUL_CLIENT_ADDRESS"
  echo "==> Found address '$CONSUL_CLIENT_ADDRESS' for interface '$CONSUL_CLIENT_INTERFACE', setting client option..."
fi

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
