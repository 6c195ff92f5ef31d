#!/bin/sh
# coturn with coturn's REST shared-secret scheme (use-auth-secret): the app hands browsers
# credentials made from $FC25_TURN_SECRET (streams/ice.py). Listens on $FC25_TURN_PORT
# (UDP and TCP) on every interface, relays on UDP $FC25_TURN_MIN_PORT..$FC25_TURN_MAX_PORT.
# FC25_TURN_EXTERNAL_IP: the public address when the server is behind NAT (cloud VMs).
#
# Anyone who registers gets a credential, so the relay is locked down. It relays to the app
# nodes only: every media path runs between a browser and an app node, so a relay to any
# other address (public, private, loopback, cloud metadata 169.254.169.254, multicast) would
# only carry someone else's traffic. Every peer is denied (all of IPv4 and IPv6, as whole
# prefixes) but the allowed ones, which coturn checks first. UDP relay only (no-tcp-relay:
# WebRTC never asks for a TCP allocation; clients may still reach coturn over TCP), a
# bandwidth cap per allocation, and allocation quotas:
#   FC25_TURN_USER_QUOTA=16      allocations at once per app user (coturn counts the user
#                                id after the expiry in "<expiry>:<user id>")
#   FC25_TURN_TOTAL_QUOTA=4000   allocations at once in all (each holds one relay port)
#   FC25_TURN_MAX_BPS=64000      bytes per second an allocation relays each way (Opus
#                                voice needs under 8000; more is dropped)
#   FC25_TURN_ALLOWED_PEER_IPS   the app nodes' addresses, separated by spaces or commas
#                                (addresses or first-last ranges); default: this host's
#                                own (`hostname -I`, loopback excluded), where the app
#                                nodes' WebRTC sockets are (host networking). Also allowed:
#                                FC25_PUBLIC_IP and FC25_TURN_EXTERNAL_IP, this host's
#                                public address behind NAT, which the nodes' answers name.
#                                Loopback stays denied whatever this says.
#
# Usage: coturn.sh [--print-config]   (--print-config: write the config to stdout and exit)
set -euf

user_quota="${FC25_TURN_USER_QUOTA:-16}"
total_quota="${FC25_TURN_TOTAL_QUOTA:-4000}"
max_bps="${FC25_TURN_MAX_BPS:-64000}"
for quota in "$user_quota" "$total_quota" "$max_bps"; do
  case "$quota" in
    '' | *[!0-9]*) echo "coturn.sh: TURN quotas and FC25_TURN_MAX_BPS must be whole numbers, got '$quota'" >&2; exit 2 ;;
  esac
done
allowed_peers="${FC25_TURN_ALLOWED_PEER_IPS:-$(hostname -I 2>/dev/null || true)}"
allowed_peers="$allowed_peers ${FC25_PUBLIC_IP:-} ${FC25_TURN_EXTERNAL_IP:-}"
if [ -z "$(echo "$allowed_peers" | tr -d ' ,')" ]; then
  # Every other peer is denied: with none allowed the relay could reach nothing.
  echo "coturn.sh: no app node to relay to: set FC25_TURN_ALLOWED_PEER_IPS (\`hostname -I\`" \
    "gave no address)" >&2
  exit 2
fi

# Ranges are written first-last (Debian's coturn 4.6 reads no CIDR) and are all whole
# prefixes: coturn 4.6 compares IPv6 range bounds byte by byte, which is only right then.
# :: cannot be a lower bound (coturn reads it as "no bound"; :: itself is refused anyway), so
# IPv6 is denied as its 128 prefixes ::1/128, ::2/127, ... 8000::/1.
#
# v6_prefix B: the first-last range of the IPv6 prefix holding the addresses 2^B to
# 2^(B+1)-1, written group by group (shell arithmetic has 64 bits, not 128).
v6_prefix() {
  group=$((7 - $1 / 16)) value=$((1 << ($1 % 16))) low="" high="" at=0
  while [ "$at" -lt 8 ]; do
    if [ "$at" -lt "$group" ]; then l=0 h=0
    elif [ "$at" -eq "$group" ]; then l=$(printf %x "$value") h=$(printf %x $((2 * value - 1)))
    else l=0 h=ffff
    fi
    low="$low${low:+:}$l" high="$high${high:+:}$h" at=$((at + 1))
  done
  echo "$low-$high"
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
max-bps=$max_bps
# Every peer but the allowed ones (below): all of IPv4, then all of IPv6.
denied-peer-ip=0.0.0.0-255.255.255.255
CONF
  bit=0
  while [ "$bit" -lt 128 ]; do
    echo "denied-peer-ip=$(v6_prefix "$bit")"
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
