#!/bin/sh
# Starts nginx as the sidecar: inbound connections (to this namespace's own address) go to the
# app on 127.0.0.1:<first inbound port>; outbound ones (redirected locally, so they arrive for
# 127.0.0.1) go to their original destination by the Host header. uid 1337's own connections are
# not captured by the init rules, so nothing loops.
#   --service-cluster NAME   name written into every access-log line
#   --inbound-ports PORTS    the app's ports, comma-separated ('' for none)
set -eu
cluster=unknown
inbound_ports=""
while [ $# -gt 0 ]; do
  case "$1" in
    --service-cluster) cluster=$2; shift 2 ;;
    --inbound-ports) inbound_ports=$2; shift 2 ;;
    *) echo "mesh-local-proxy: unknown argument $1" >&2; exit 2 ;;
  esac
done
app_port=${inbound_ports%%,*}
[ -n "$app_port" ] || app_port=0
mkdir -p /tmp/nginx
sed -e "s/@CLUSTER@/$cluster/g" -e "s/@APP_PORT@/$app_port/g" \
  /etc/mesh-local/nginx.conf.template > /tmp/nginx/nginx.conf
echo "mesh-local-proxy: cluster $cluster, inbound to 127.0.0.1:$app_port, outbound by Host"
exec nginx -c /tmp/nginx/nginx.conf -e /dev/stderr -g 'daemon off;'
