#!/bin/sh
# coturn with coturn's REST shared-secret scheme (use-auth-secret): the app hands browsers
# credentials made from $FC25_TURN_SECRET (streams/ice.py). Listens on $FC25_TURN_PORT
# (UDP and TCP) on every interface, relays on UDP $FC25_TURN_MIN_PORT..$FC25_TURN_MAX_PORT.
# FC25_TURN_EXTERNAL_IP: the public address when the server is behind NAT (cloud VMs).
set -eu
conf="$(mktemp)"
cat > "$conf" <<CONF
listening-port=$FC25_TURN_PORT
min-port=$FC25_TURN_MIN_PORT
max-port=$FC25_TURN_MAX_PORT
use-auth-secret
static-auth-secret=$FC25_TURN_SECRET
realm=$FC25_DOMAIN
fingerprint
no-cli
no-tls
no-dtls
no-multicast-peers
no-software-attribute
log-file=stdout
simple-log
CONF
if [ -n "${FC25_TURN_EXTERNAL_IP:-}" ]; then echo "external-ip=$FC25_TURN_EXTERNAL_IP" >> "$conf"; fi
chown turnserver "$conf" && chmod 0600 "$conf"
exec runuser -u turnserver -- turnserver -c "$conf"
