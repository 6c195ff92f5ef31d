#!/usr/bin/env bash
# Stop the stack of docker-compose.yml and remove its containers and volumes (database,
# recordings, certificates). The images stay (the next deploy-up reuses their layers).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deploy-lib.sh
profiles="$(sed -n 's/^COMPOSE_PROFILES=//p' .env 2>/dev/null || true)"
COMPOSE_PROFILES="${COMPOSE_PROFILES:-${profiles:-prometheus}}" $COMPOSE down -v --remove-orphans
