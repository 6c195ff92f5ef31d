#!/bin/sh
# Redis on 127.0.0.1:$FC25_REDIS_PORT with a password; append-only file in the volume.
set -eu
mkdir -p /var/lib/redis && chown redis:redis /var/lib/redis
conf="$(mktemp)"
printf 'requirepass %s\n' "$FC25_REDIS_PASSWORD" > "$conf" && chown redis "$conf" && chmod 0600 "$conf"
exec runuser -u redis -- redis-server "$conf" --bind 127.0.0.1 --port "$FC25_REDIS_PORT" \
  --dir /var/lib/redis --appendonly yes --save "" --protected-mode yes
