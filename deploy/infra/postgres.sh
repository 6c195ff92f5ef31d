#!/bin/sh
# PostgreSQL on 127.0.0.1:$FC25_PG_PORT; the cluster (user and database "fc25", password
# $FC25_PG_PASSWORD) is created in the volume at first start.
set -eu
PGDATA=/var/lib/postgresql/fc25
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)" && printf '%s\n' "$FC25_PG_PASSWORD" > "$pwfile" && chown postgres "$pwfile"
  runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U fc25 --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  echo "CREATE DATABASE fc25;" | runuser -u postgres -- "$BIN/postgres" --single -D "$PGDATA" postgres >/dev/null
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -p "$FC25_PG_PORT" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200
