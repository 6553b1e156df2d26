#!/bin/sh
# Transparent capture for a sidecar, in the network namespace this container joined.
#   -p PORT   port the proxy takes captured traffic on (15001)
#   -u UID    uid whose traffic is never captured: the proxy's own (1337)
#   -m MODE   REDIRECT (the only mode supported)
#   -b PORTS  inbound ports to capture, comma-separated, or '*'
#   -i CIDRS  outbound destinations to capture, comma-separated, or '*'
# Called as istio-iptables.sh it captures only what -b and -i name (Istio 0.8's rule); called as
# prepare_proxy.sh it captures all inbound and outbound TCP (Istio 0.2-0.7's rule). Loopback and
# the proxy's uid are always let through. It removes its own chains first, so it can run again.
set -eu

proxy_port=15001
proxy_uid=1337
inbound=""
outbound=""
case "$(basename "$0")" in
  prepare_proxy.sh) inbound="*"; outbound="*" ;;
esac

while getopts "p:u:g:m:b:i:x:d:" option; do
  case "$option" in
    p) proxy_port=$OPTARG ;;
    u) proxy_uid=$OPTARG ;;
    m) [ "$OPTARG" = REDIRECT ] || { echo "mesh-local-iptables: only -m REDIRECT is supported" >&2; exit 2; } ;;
    b) inbound=$OPTARG ;;
    i) outbound=$OPTARG ;;
    g|x|d) echo "mesh-local-iptables: ignoring -$option $OPTARG" >&2 ;;
    *) echo "usage: $0 -p PORT -u UID [-m REDIRECT] [-b PORTS|*] [-i CIDRS|*]" >&2; exit 2 ;;
  esac
done

nat() { iptables -w -t nat "$@"; }

# Undo an earlier run: unhook and drop our chains (errors mean there was nothing to undo).
while nat -D PREROUTING -p tcp -j ISTIO_INBOUND 2>/dev/null; do :; done
while nat -D OUTPUT -p tcp -j ISTIO_OUTPUT 2>/dev/null; do :; done
for chain in ISTIO_INBOUND ISTIO_OUTPUT ISTIO_REDIRECT; do
  nat -F "$chain" 2>/dev/null || true
  nat -X "$chain" 2>/dev/null || true
done

nat -N ISTIO_REDIRECT
nat -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$proxy_port"

if [ -n "$inbound" ]; then
  nat -N ISTIO_INBOUND
  nat -A PREROUTING -p tcp -j ISTIO_INBOUND
  if [ "$inbound" = "*" ]; then
    nat -A ISTIO_INBOUND -p tcp ! --dport "$proxy_port" -j ISTIO_REDIRECT
  else
    for port in $(echo "$inbound" | tr ',' ' '); do
      nat -A ISTIO_INBOUND -p tcp --dport "$port" -j ISTIO_REDIRECT
    done
  fi
fi

if [ -n "$outbound" ]; then
  nat -N ISTIO_OUTPUT
  nat -A OUTPUT -p tcp -j ISTIO_OUTPUT
  nat -A ISTIO_OUTPUT -m owner --uid-owner "$proxy_uid" -j RETURN
  nat -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
  if [ "$outbound" = "*" ]; then
    nat -A ISTIO_OUTPUT -j ISTIO_REDIRECT
  else
    for cidr in $(echo "$outbound" | tr ',' ' '); do
      nat -A ISTIO_OUTPUT -d "$cidr" -j ISTIO_REDIRECT
    done
  fi
fi

echo "mesh-local-iptables: redirecting inbound [${inbound:-none}] and outbound [${outbound:-none}] TCP to :$proxy_port, uid $proxy_uid bypassed"
nat -S | grep ISTIO_ || true
