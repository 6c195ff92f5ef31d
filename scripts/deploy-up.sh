#!/usr/bin/env bash
# Build the images and start the stack of docker-compose.yml; return once every service is
# healthy (exit 1 with the logs of the unhealthy ones after FC25_UP_TIMEOUT seconds).
#
# Env: BASE_IMAGE (default python:3.11-slim; fc25-base:local from `make deploy-base`),
#      FC25_BUILD_CA (CA bundle passed to builds as the "ca" secret; default the system's),
#      FC25_UP_TIMEOUT (default 300), DOCKER, COMPOSE (see deploy-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deploy-lib.sh
[ -f .env ] || { echo ".env is missing: run make deploy-env first" >&2; exit 1; }
base="${BASE_IMAGE:-python:3.11-slim}"
ca="${FC25_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
build_args=(--network host --progress plain --build-arg "BASE_IMAGE=$base")
if [ -s "$ca" ]; then build_args+=(--secret "id=ca,src=$ca"); fi
profiles="$(sed -n 's/^COMPOSE_PROFILES=//p' .env)"
profiles="${COMPOSE_PROFILES:-$profiles}"

started=$SECONDS
$DOCKER build "${build_args[@]}" -t fc25-app:local .
$DOCKER build "${build_args[@]}" -f deploy/infra.Dockerfile --target infra -t fc25-infra:local deploy
if [[ ",$profiles," == *,prometheus,* ]]; then
  $DOCKER build "${build_args[@]}" -f deploy/infra.Dockerfile --target prometheus \
    -t fc25-prometheus:local deploy
fi
echo "images built in $((SECONDS - started)) s"

if ! $COMPOSE up -d --remove-orphans; then  # compose v1 gives up on an unhealthy dependency
  $COMPOSE ps >&2
  $COMPOSE logs --tail 40 >&2
  exit 1
fi
deadline=$((SECONDS + ${FC25_UP_TIMEOUT:-300}))
while :; do
  waiting=()
  for id in $($COMPOSE ps -q); do
    state="$($DOCKER inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.State.ExitCode}}' "$id")"
    read -r name status health code <<<"$state"
    case "$status/$health" in
      running/healthy | running/-) ;;
      exited/*) [ "$code" = 0 ] || waiting+=("$name:exited($code)") ;;  # migrate: one-shot
      *) waiting+=("$name:$status/$health") ;;
    esac
  done
  if [ ${#waiting[@]} -eq 0 ]; then break; fi
  if [ $SECONDS -ge $deadline ]; then
    echo "not healthy after ${FC25_UP_TIMEOUT:-300} s: ${waiting[*]}" >&2
    $COMPOSE ps >&2
    $COMPOSE logs --tail 40 >&2
    exit 1
  fi
  sleep 2
done
https_port="$(sed -n 's/^FC25_HTTPS_PORT=//p' .env)"
echo "stack healthy in $((SECONDS - started)) s: https://localhost:$https_port/"
