#!/bin/sh
# mesh-local's iptables script for the sandbox init step, installed where the version's proxy_init
# image has its own and behaving as that one does (the options, the refusals, re-running):
#
#  prepare_proxy.sh (Istio 0.2-0.7; pilot/docker/prepare_proxy.sh@0.6.0), options ":p:u:e:i:h":
#    -p PORT -u UID required; captures all inbound and all outbound TCP, or outbound only to the
#    -i CIDRs; -e is accepted and does nothing. It creates its chains without removing old ones,
#    so a second run fails with "iptables: Chain already exists." as upstream's does (#2605).
#  istio-iptables.sh (Istio 0.8; tools/deb/istio-iptables.sh@0.8.0), options ":p:u:m:b:d:i:x:h":
#    captures inbound only for the -b ports ('*' for all but the -d ports) and outbound only to
#    the -i CIDRs ('*' for all but the -x CIDRs); -m REDIRECT (TPROXY is refused here); it
#    removes its own chains first, so it can run again.
# Both let loopback and the proxy's uid (-u) through, and send what they capture to -p.
# An unknown option prints "Invalid option: -X" and exits 1, as both upstream scripts do.
set -eu

name=$(basename "$0")
case "$name" in
  prepare_proxy.sh) optstring=":p:u:e:i:h" ;;
  istio-iptables.sh) optstring=":p:u:m:b:d:i:x:h" ;;
  *) echo "mesh-local-iptables: installed under an unknown name '$name'" >&2; exit 2 ;;
esac

usage() {
  if [ "$name" = prepare_proxy.sh ]; then
    echo "$0 -p PORT -u UID [-i CIDRs] [-h]"
  else
    echo "$0 -p PORT -u UID [-m REDIRECT] [-b ports|*] [-d ports] [-i CIDRs|*] [-x CIDRs] [-h]"
  fi
}

proxy_port=""
proxy_uid=""
mode=REDIRECT
inbound=""
inbound_exclude=""
outbound=""
outbound_exclude=""
if [ "$name" = istio-iptables.sh ]; then proxy_port=15001; fi

while getopts "$optstring" option; do
  case "$option" in
    p) proxy_port=$OPTARG ;;
    u) proxy_uid=$OPTARG ;;
    e) ;; # in prepare_proxy.sh's option string, never read
    m) mode=$OPTARG ;;
    b) inbound=$OPTARG ;;
    d) inbound_exclude=$OPTARG ;;
    i) outbound=$OPTARG ;;
    x) outbound_exclude=$OPTARG ;;
    h) usage; exit 0 ;;
    \?) echo "Invalid option: -$OPTARG" >&2; usage; exit 1 ;;
    :) ;; # a missing value: upstream's silent getopts ignores it too
  esac
done

nat() { iptables -w -t nat "$@"; }

if [ "$name" = prepare_proxy.sh ]; then
  if [ -z "$proxy_port" ] || [ -z "$proxy_uid" ]; then
    echo "Please set both -p and -u parameters"
    usage
    exit 1
  fi
  # Fails when the chain is there from an earlier run, like upstream's.
  nat -N ISTIO_REDIRECT
  nat -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$proxy_port"
  nat -A PREROUTING -j ISTIO_REDIRECT
  nat -N ISTIO_OUTPUT
  nat -A OUTPUT -p tcp -j ISTIO_OUTPUT
  nat -A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -j ISTIO_REDIRECT
  nat -A ISTIO_OUTPUT -m owner --uid-owner "$proxy_uid" -j RETURN
  nat -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
  if [ -n "$outbound" ]; then
    for cidr in $(echo "$outbound" | tr ',' ' '); do nat -A ISTIO_OUTPUT -d "$cidr" -j ISTIO_REDIRECT; done
    nat -A ISTIO_OUTPUT -j RETURN
  else
    nat -A ISTIO_OUTPUT -j ISTIO_REDIRECT
  fi
  echo "mesh-local-iptables ($name): redirecting inbound [*] and outbound [${outbound:-*}] TCP to :$proxy_port, uid $proxy_uid let through"
  exit 0
fi

if [ "$mode" != REDIRECT ]; then
  echo "mesh-local-iptables: -m $mode is not supported by the sandbox image (only REDIRECT)" >&2
  exit 1
fi
if [ -z "$proxy_uid" ]; then proxy_uid=1337; fi

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
    nat -A ISTIO_INBOUND -p tcp --dport "$proxy_port" -j RETURN
    for port in $(echo "$inbound_exclude" | tr ',' ' '); do nat -A ISTIO_INBOUND -p tcp --dport "$port" -j RETURN; done
    nat -A ISTIO_INBOUND -p tcp -j ISTIO_REDIRECT
  else
    for port in $(echo "$inbound" | tr ',' ' '); do nat -A ISTIO_INBOUND -p tcp --dport "$port" -j ISTIO_REDIRECT; done
  fi
fi

if [ -n "$outbound" ]; then
  nat -N ISTIO_OUTPUT
  nat -A OUTPUT -p tcp -j ISTIO_OUTPUT
  nat -A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -j ISTIO_REDIRECT
  nat -A ISTIO_OUTPUT -m owner --uid-owner "$proxy_uid" -j RETURN
  nat -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
  if [ "$outbound" = "*" ]; then
    for cidr in $(echo "$outbound_exclude" | tr ',' ' '); do nat -A ISTIO_OUTPUT -d "$cidr" -j RETURN; done
    nat -A ISTIO_OUTPUT -j ISTIO_REDIRECT
  else
    for cidr in $(echo "$outbound" | tr ',' ' '); do nat -A ISTIO_OUTPUT -d "$cidr" -j ISTIO_REDIRECT; done
  fi
fi

echo "mesh-local-iptables ($name): redirecting inbound [${inbound:-none}] and outbound [${outbound:-none}] TCP to :$proxy_port, uid $proxy_uid let through"
nat -S | grep ISTIO_ || true
