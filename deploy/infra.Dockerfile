# One image for the stack's other services, all from Debian packages (no registry needed):
# nginx, coturn, PostgreSQL, Redis, and moto's S3 server (pip). docker-compose.yml picks
# the service with the command (deploy/infra/<service>.sh). Target "prometheus" adds
# Debian's Prometheus for the optional profile. Build context: deploy/.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS infra

ENV LANG=C.UTF-8 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# No default PostgreSQL cluster: postgres.sh makes one in its volume.
RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
    && rm -f /etc/apt/apt.conf.d/docker-clean
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    --mount=type=secret,id=ca,target=/run/secrets/ca.crt \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx coturn postgresql redis-server openssl ca-certificates
# The S3 server: moto's standalone server (in memory; see README "Deploy").
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca,target=/run/secrets/ca.crt \
    if [ -s /run/secrets/ca.crt ]; then export PIP_CERT=/run/secrets/ca.crt; fi \
    && python3 -m venv /opt/s3 \
    && /opt/s3/bin/pip install "moto[server]>=5.1,<6" "boto3>=1.35,<2"
COPY infra/ /opt/fc25/
RUN chmod 0755 /opt/fc25/*.sh

FROM infra AS prometheus
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
