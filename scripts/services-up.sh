#!/usr/bin/env bash
# Exit 0 when the PostgreSQL and Redis given as URLs accept connections.
set -u
pg="${1:?postgres url}"; redis="${2:?redis url}"
hostport() { echo "$1" | sed -E 's#^[a-z]+://([^@/]*@)?([^/:]+):?([0-9]*).*#\2 \3#'; }
read -r h p <<<"$(hostport "$pg")"; (exec 3<>"/dev/tcp/$h/${p:-5432}") 2>/dev/null || exit 1
read -r h p <<<"$(hostport "$redis")"; (exec 3<>"/dev/tcp/$h/${p:-6379}") 2>/dev/null || exit 1
exit 0
