#!/bin/sh
# coturn with coturn's REST shared-secret scheme (use-auth-secret): the app hands browsers
# credentials made from $FC25_TURN_SECRET (streams/ice.py). Listens on $FC25_TURN_PORT
# (UDP and TCP) on every interface, relays on UDP $FC25_TURN_MIN_PORT..$FC25_TURN_MAX_PORT.
# FC25_TURN_EXTERNAL_IP: the public address when the server is behind NAT (cloud VMs).
#
# Anyone who registers gets a credential, so the relay is locked down: no relaying to
# private, loopback, link-local (cloud metadata 169.254.169.254), CGNAT, reserved or
# multicast addresses, nor to IPv6 forms that embed IPv4 addresses (mapped, translated,
# NAT64, 6to4, Teredo, IPv4-compatible); UDP relay only
# (no-tcp-relay: WebRTC never asks for a TCP allocation; clients may still reach coturn
# over TCP); and allocation quotas:
#   FC25_TURN_USER_QUOTA=16      allocations at once per app user (coturn counts the user
#                                id after the expiry in "<expiry>:<user id>")
#   FC25_TURN_TOTAL_QUOTA=4000   allocations at once in all (each holds one relay port)
#   FC25_TURN_ALLOWED_PEER_IPS   peers relayed to despite the deny list, separated by spaces
#                                or commas (addresses or first-last ranges); default: this
#                                host's own addresses (`hostname -I`, loopback excluded),
#                                where the app nodes' WebRTC sockets are (host networking).
#                                Loopback stays denied whatever this says.
#
# Usage: coturn.sh [--print-config]   (--print-config: write the config to stdout and exit)
set -euf

user_quota="${FC25_TURN_USER_QUOTA:-16}"
total_quota="${FC25_TURN_TOTAL_QUOTA:-4000}"
for quota in "$user_quota" "$total_quota"; do
  case "$quota" in
    '' | *[!0-9]*) echo "coturn.sh: TURN quotas must be whole numbers, got '$quota'" >&2; exit 2 ;;
  esac
done
allowed_peers="${FC25_TURN_ALLOWED_PEER_IPS:-$(hostname -I 2>/dev/null || true)}"
if [ -z "$(echo "$allowed_peers" | tr -d ' ,')" ]; then
  echo "coturn.sh: no allowed peers (FC25_TURN_ALLOWED_PEER_IPS, hostname -I): coturn cannot" \
    "relay to app nodes on private addresses" >&2
fi

# Ranges are written first-last (Debian's coturn 4.6 reads no CIDR) and are all whole
# prefixes: coturn 4.6 compares IPv6 range bounds byte by byte, which is only right then.
# 0.0.0.0 and :: themselves are refused by coturn anyway (and :: cannot be a lower bound:
# coturn reads it as "no bound").
# compat N: the IPv4-compatible IPv6 address ::a.b.c.d of the 32-bit number N.
compat() {
  echo "::$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"
}

config() {
  cat <<CONF
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
no-tcp-relay
no-multicast-peers
no-software-attribute
user-quota=$user_quota
total-quota=$total_quota
log-file=stdout
simple-log
# IPv4: "this network", RFC 1918 private, CGNAT, loopback, link-local (cloud metadata),
# IETF protocol assignments, documentation, 6to4 relay, benchmarking, multicast, reserved.
denied-peer-ip=0.0.0.0-0.255.255.255
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip=100.64.0.0-100.127.255.255
denied-peer-ip=127.0.0.0-127.255.255.255
denied-peer-ip=169.254.0.0-169.254.255.255
denied-peer-ip=172.16.0.0-172.31.255.255
denied-peer-ip=192.0.0.0-192.0.0.255
denied-peer-ip=192.0.2.0-192.0.2.255
denied-peer-ip=192.88.99.0-192.88.99.255
denied-peer-ip=192.168.0.0-192.168.255.255
denied-peer-ip=198.18.0.0-198.19.255.255
denied-peer-ip=198.51.100.0-198.51.100.255
denied-peer-ip=203.0.113.0-203.0.113.255
denied-peer-ip=224.0.0.0-239.255.255.255
denied-peer-ip=240.0.0.0-255.255.255.255
# IPv6: loopback, IPv4-mapped, IPv4-translated, NAT64 (well-known and local), discard,
# Teredo, documentation, 6to4, unique local, link-local, site-local, multicast.
denied-peer-ip=::1
denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255
denied-peer-ip=::ffff:0:0.0.0.0-::ffff:0:255.255.255.255
denied-peer-ip=64:ff9b::-64:ff9b::ffff:ffff
denied-peer-ip=64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=100::-100::ffff:ffff:ffff:ffff
denied-peer-ip=2001::-2001:0:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=fec0::-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
CONF
  # IPv4-compatible IPv6 (::a.b.c.d, ::/96, deprecated but still routed by some stacks to
  # the IPv4 address): :: cannot be a lower bound, so ::2-::255.255.255.255 (::1 is above)
  # is written as its 31 whole prefixes, ::0.0.0.2-::0.0.0.3 up to
  # ::128.0.0.0-::255.255.255.255.
  bit=1
  while [ "$bit" -lt 32 ]; do
    echo "denied-peer-ip=$(compat $((1 << bit)))-$(compat $(((1 << (bit + 1)) - 1)))"
    bit=$((bit + 1))
  done
  # coturn checks allowed-peer-ip before the deny list (loopback and multicast before both).
  for peer in $(echo "$allowed_peers" | tr ',' ' '); do echo "allowed-peer-ip=$peer"; done
  if [ -n "${FC25_TURN_EXTERNAL_IP:-}" ]; then echo "external-ip=$FC25_TURN_EXTERNAL_IP"; fi
}

if [ "${1:-}" = --print-config ]; then
  config
  exit 0
fi
conf="$(mktemp)"
config > "$conf"
chown turnserver "$conf" && chmod 0600 "$conf"
exec runuser -u turnserver -- turnserver -c "$conf"
