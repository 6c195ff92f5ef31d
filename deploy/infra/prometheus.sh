#!/bin/sh
# Prometheus (optional "prometheus" profile) on 127.0.0.1:$FC25_PROMETHEUS_PORT, scraping
# both app nodes' /metrics on their own ports every 15 s, with the bearer token.
set -eu
mkdir -p /var/lib/prometheus/fc25 && chown prometheus /var/lib/prometheus/fc25
token=/etc/prometheus/fc25-token
printf '%s' "$FC25_METRICS_TOKEN" > "$token" && chown prometheus "$token" && chmod 0600 "$token"
cat > /etc/prometheus/fc25.yml <<CONF
global:
  scrape_interval: 15s
scrape_configs:
  - job_name: fc25
    authorization:
      credentials_file: $token
    static_configs:
      - targets: ["127.0.0.1:$FC25_APP1_PORT", "127.0.0.1:$FC25_APP2_PORT"]
CONF
exec runuser -u prometheus -- prometheus --config.file=/etc/prometheus/fc25.yml \
  --storage.tsdb.path=/var/lib/prometheus/fc25 \
  --web.listen-address="127.0.0.1:$FC25_PROMETHEUS_PORT"
