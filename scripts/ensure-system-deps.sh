#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only when missing.
# Chromium drives the browser tests, espeak-ng synthesises test speech,
# sox/ffmpeg help inspect audio; coturn checks the deployment's TURN config
# (tests/deploy_config). Needs root (CI runs as root).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
command -v turnserver >/dev/null 2>&1 || need+=(coturn)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
