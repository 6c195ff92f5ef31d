# Sourced by the deploy scripts: which docker and compose commands to use.
# DOCKER: a docker client that builds with BuildKit (build secrets, cache mounts): one with
# the buildx plugin, or a client older than 23 (Debian bookworm's docker.io), which has
# BuildKit built in. COMPOSE: `docker compose` (v2) or `docker-compose` (v1.29+).
# Both may be set in the environment instead.

pick_docker() {
  if [ -n "${DOCKER:-}" ]; then return; fi
  DOCKER=docker
  if docker buildx version >/dev/null 2>&1; then return; fi
  local candidate version
  for candidate in docker /usr/bin/docker; do
    version="$("$candidate" version --format '{{.Client.Version}}' 2>/dev/null || true)"
    case "$version" in
      1[89].* | 2[012].*) DOCKER="$candidate"; return ;;
    esac
  done
}

pick_compose() {
  if [ -n "${COMPOSE:-}" ]; then return; fi
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
}

pick_docker
pick_compose
export DOCKER_BUILDKIT=1
