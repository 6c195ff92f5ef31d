#!/bin/sh
# nginx: TLS on $FC25_HTTPS_PORT (HTTP/1.1 and WebSocket upgrades), HTTP on $FC25_HTTP_PORT
# redirecting to https, round-robin to the two app nodes, /metrics refused. The
# certificate is /etc/fc25/tls/{fullchain,privkey}.pem; when none is mounted, a
# self-signed one for $FC25_DOMAIN is generated once (kept in the volume).
#
# Usage: nginx.sh [--print-config]   (--print-config: write the config to stdout and exit)
set -eu
here=$(dirname "$0")
if [ "$FC25_HTTPS_PORT" = 443 ]; then https_port=""; else https_port=":$FC25_HTTPS_PORT"; fi
# Bodies: imports up to FC25_UPLOAD_MAX_MB (plus multipart overhead), everything else the
# app's API limit plus 64 KB; the app refuses beyond its limits with JSON errors.
upload_max_mb=${FC25_UPLOAD_MAX_MB:-200}
api_max_body=${FC25_API_MAX_BODY_BYTES:-65536}
upload_mb=$(( upload_max_mb + 1 ))
# Per client address: API requests per second and the burst allowed past that rate, and
# open connections (pages, downloads and presence sockets together).
api_rate=${FC25_PROXY_API_RATE:-20}
api_burst=${FC25_PROXY_API_BURST:-200}
connections=${FC25_PROXY_CONNECTIONS:-200}
# WebSocket handshakes per second per client address and their burst: a page opens one
# per load; after a restart every tab behind one NAT reconnects within its 30 s backoff.
ws_rate=${FC25_PROXY_WS_RATE:-10}
ws_burst=${FC25_PROXY_WS_BURST:-300}
body_kb=$(( api_max_body / 1024 + 64 + 1 ))

config() {
  sed -e "s/@HTTPS_PORT@/$FC25_HTTPS_PORT/g" -e "s/@HTTP_PORT@/$FC25_HTTP_PORT/g" \
      -e "s/@HTTPS_SUFFIX@/$https_port/g" -e "s/@APP1_PORT@/$FC25_APP1_PORT/g" \
      -e "s/@APP2_PORT@/$FC25_APP2_PORT/g" -e "s/@UPLOAD_MB@/$upload_mb/g" \
      -e "s/@BODY_KB@/$body_kb/g" -e "s/@UPLOAD_MAX_MB@/$upload_max_mb/g" \
      -e "s/@API_MAX_BODY@/$api_max_body/g" -e "s/@API_RATE@/$api_rate/g" \
      -e "s/@API_BURST@/$api_burst/g" -e "s/@CONNECTIONS@/$connections/g" \
      -e "s/@WS_RATE@/$ws_rate/g" -e "s/@WS_BURST@/$ws_burst/g" \
      "$here/nginx.conf.template"
}

if [ "${1:-}" = --print-config ]; then
  config
  exit 0
fi

tls=/etc/fc25/tls
mkdir -p "$tls"
if [ ! -s "$tls/fullchain.pem" ] || [ ! -s "$tls/privkey.pem" ]; then
  echo "no certificate in $tls: generating a self-signed one for $FC25_DOMAIN"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=$FC25_DOMAIN" \
    -addext "subjectAltName=DNS:$FC25_DOMAIN,DNS:localhost,IP:127.0.0.1" \
    -keyout "$tls/privkey.pem" -out "$tls/fullchain.pem" 2>/dev/null
  chmod 0600 "$tls/privkey.pem"
fi
config > /etc/nginx/fc25.conf
nginx -t -c /etc/nginx/fc25.conf
exec nginx -c /etc/nginx/fc25.conf -g "daemon off;"
