#!/usr/bin/env bash
# Write .env for docker-compose.yml with fresh secrets. Never committed (.gitignore).
#
# Usage: [VAR=value ...] scripts/deploy-env.sh [FILE]      (default FILE: .env)
#
# Taken from the environment when set, else the default shown:
#   FC25_DOMAIN=localhost         the site's host name (certificate, FC25_PUBLIC_URL, TURN)
#   FC25_HTTPS_PORT=443 FC25_HTTP_PORT=80 FC25_TURN_PORT=3478     (open these, see README)
#   FC25_TURN_MIN_PORT=49160 FC25_TURN_MAX_PORT=59999             (TURN relay range, UDP)
#   FC25_TURN_HOST=$FC25_DOMAIN   the host browsers reach coturn at
#   internal, on 127.0.0.1 only: FC25_PG_PORT=15432 FC25_REDIS_PORT=16379
#   FC25_S3_PORT=19000 FC25_APP1_PORT=18001 FC25_APP2_PORT=18002 FC25_PROMETHEUS_PORT=19090
# and copied when set: FC25_FORCE_RELAY, FC25_TURN_EXTERNAL_IP, FC25_TURN_TTL, coturn's
# FC25_TURN_USER_QUOTA, FC25_TURN_TOTAL_QUOTA, FC25_TURN_MAX_BPS and FC25_TURN_ALLOWED_PEER_IPS (defaults in
# deploy/infra/coturn.sh), FC25_STUN_URLS, FC25_TLS_DIR, FC25_HSTS_SECONDS, COMPOSE_PROFILES,
# LOG_LEVEL, FC25_ADMIN_NETWORKS (who may reach /admin/) and the app's limits
# (FC25_UPLOAD_MAX_MB, FC25_API_MAX_BODY_BYTES, FC25_MAX_LIVE_STREAMS, ...).
# An existing file is kept unless FC25_ENV_FORCE=1 (its database password is in the volume).
set -euo pipefail
out="${1:-.env}"
if [ -e "$out" ] && [ "${FC25_ENV_FORCE:-0}" != 1 ]; then
  echo "$out exists: kept (FC25_ENV_FORCE=1 writes a new one; run make deploy-down first)" >&2
  exit 0
fi

secret() { openssl rand -hex "${1:-32}"; }

domain="${FC25_DOMAIN:-localhost}"
https_port="${FC25_HTTPS_PORT:-443}"
if [ "$https_port" = 443 ]; then public_url="https://$domain"; else public_url="https://$domain:$https_port"; fi
turn_host="${FC25_TURN_HOST:-$domain}"
turn_port="${FC25_TURN_PORT:-3478}"
pg_port="${FC25_PG_PORT:-15432}"
redis_port="${FC25_REDIS_PORT:-16379}"
s3_port="${FC25_S3_PORT:-19000}"
pg_password="$(secret 24)"
redis_password="$(secret 24)"

umask 077
tmp="$(mktemp "$out.XXXXXX")"
{
  echo "# Written by scripts/deploy-env.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Secrets: keep private."
  echo "COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-fc25}"
  echo "FC25_DOMAIN=$domain"
  echo "FC25_PUBLIC_URL=$public_url"
  echo "FC25_HTTPS_PORT=$https_port"
  echo "FC25_HTTP_PORT=${FC25_HTTP_PORT:-80}"
  echo "FC25_APP1_PORT=${FC25_APP1_PORT:-18001}"
  echo "FC25_APP2_PORT=${FC25_APP2_PORT:-18002}"
  echo "FC25_PROMETHEUS_PORT=${FC25_PROMETHEUS_PORT:-19090}"
  echo "SECRET_KEY=$(secret 40)"
  echo "FC25_METRICS_TOKEN=$(secret 24)"
  echo "FC25_PROXY_COUNT=1"
  echo "FC25_PG_PORT=$pg_port"
  echo "FC25_PG_PASSWORD=$pg_password"
  echo "DATABASE_URL=postgres://fc25:$pg_password@127.0.0.1:$pg_port/fc25"
  echo "FC25_REDIS_PORT=$redis_port"
  echo "FC25_REDIS_PASSWORD=$redis_password"
  echo "REDIS_URL=redis://:$redis_password@127.0.0.1:$redis_port/0"
  echo "FC25_S3_PORT=$s3_port"
  echo "FC25_S3_BUCKET=${FC25_S3_BUCKET:-fc25-recordings}"
  echo "FC25_S3_ENDPOINT_URL=http://127.0.0.1:$s3_port"
  echo "FC25_S3_REGION=${FC25_S3_REGION:-us-east-1}"
  echo "AWS_ACCESS_KEY_ID=fc25$(secret 8)"
  echo "AWS_SECRET_ACCESS_KEY=$(secret 24)"
  echo "FC25_TURN_PORT=$turn_port"
  echo "FC25_TURN_MIN_PORT=${FC25_TURN_MIN_PORT:-49160}"
  echo "FC25_TURN_MAX_PORT=${FC25_TURN_MAX_PORT:-59999}"
  echo "FC25_TURN_SECRET=$(secret 32)"
  echo "FC25_TURN_URLS=turn:$turn_host:$turn_port?transport=udp,turn:$turn_host:$turn_port?transport=tcp"
  for name in FC25_FORCE_RELAY FC25_TURN_EXTERNAL_IP FC25_TURN_TTL FC25_TURN_USER_QUOTA \
      FC25_TURN_TOTAL_QUOTA FC25_TURN_ALLOWED_PEER_IPS FC25_TURN_MAX_BPS FC25_STUN_URLS FC25_TLS_DIR \
      FC25_HSTS_SECONDS FC25_HSTS_SUBDOMAINS COMPOSE_PROFILES LOG_LEVEL FC25_UPLOAD_MAX_MB \
      FC25_API_MAX_BODY_BYTES FC25_MAX_LIVE_STREAMS FC25_MAX_LISTENERS FC25_DENOISE_WORKERS \
      FC25_RECORDINGS_QUOTA_MB FC25_JOB_WORKERS FC25_DENOISE_MODEL FC25_STREAM_HEARTBEAT \
      FC25_FORWARD_TIMEOUT FC25_PUBLIC_IP FC25_ADMIN_NETWORKS FC25_ICE_ALLOWED_PEERS \
      FC25_LIVE_FIGURES_EVERY; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}"; fi
  done
} > "$tmp"
mv "$tmp" "$out"
echo "wrote $out for $public_url"
