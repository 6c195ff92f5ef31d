#!/usr/bin/env bash
# Build the local base image (default fc25-base:local) from Debian packages, for
# machines that cannot pull from a container registry: a minimal bookworm root made
# with debootstrap, with python3 (3.11 in bookworm), venv and CA certificates, then
# `docker import`. The Dockerfiles work on it and on python:3.11-slim alike.
#
# Usage: scripts/deploy-base.sh [IMAGE]   (root; needs debootstrap and docker)
# Env:   FC25_DEBIAN_MIRROR (default http://deb.debian.org/debian), FC25_BASE_FORCE=1
#        rebuilds an existing image.
set -euo pipefail
image="${1:-fc25-base:local}"
mirror="${FC25_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
docker="${DOCKER:-docker}"

if [ "${FC25_BASE_FORCE:-0}" != 1 ] && $docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image exists (FC25_BASE_FORCE=1 rebuilds it)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

root="$(mktemp -d /var/tmp/fc25-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$root" "$mirror"
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
# What the official images do too: no recommends, no docs, an empty package cache.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > "$root/etc/apt/apt.conf.d/90fc25-no-recommends"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
tar -C "$root" --numeric-owner -c . \
  | $docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$image"
echo "built $image"
