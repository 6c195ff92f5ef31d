"""Django settings for fc25_denoise.

Everything that differs between machines comes from the environment through
the typed helpers in :mod:`fc25_denoise.env`; the defaults are the embedded,
single-machine setup (SQLite, in-memory channel layer, local media folder).
See README.md "Settings" for every variable.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from denoise.registry import DEFAULT_MODEL, available_models

from .env import (
    allowed_hosts,
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_ip,
    env_list,
    env_networks,
    env_public_url,
    env_str,
    secret_key,
)
from .s3config import s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("FC25_DATA_DIR", str(BASE_DIR / "data"))).resolve()
RUNNING_TESTS = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(
    DATA_DIR, allow_local=env_bool("FC25_LOCAL_SECRET", False) or DEBUG or RUNNING_TESTS
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# --- One switch for a public deployment: FC25_PUBLIC_URL=https://voice.example.org adds its
# host and origin to ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS and, for https, turns on secure
# cookies, HSTS, the https redirect and trust in the proxy's X-Forwarded-Proto (README
# "Deploying").
PUBLIC_URL = env_public_url("FC25_PUBLIC_URL")
PUBLIC_HTTPS = PUBLIC_URL is not None and PUBLIC_URL.scheme == "https"
# The loopback names are always in: health checks and Prometheus reach a node by 127.0.0.1.
ALLOWED_HOSTS = allowed_hosts(env_list("ALLOWED_HOSTS", []), PUBLIC_URL)
if PUBLIC_URL is not None:
    _origin = f"{PUBLIC_URL.scheme}://{PUBLIC_URL.netloc}"
    CSRF_TRUSTED_ORIGINS += [_origin] if _origin not in CSRF_TRUSTED_ORIGINS else []
SECURE_HSTS_SECONDS = env_int(
    "FC25_HSTS_SECONDS", 365 * 24 * 3600 if PUBLIC_HTTPS else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("FC25_HSTS_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = PUBLIC_HTTPS
# Health and metrics are polled over plain http on the node's own port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if PUBLIC_HTTPS:
    # The TLS-terminating proxy in front sets it (and must drop a client's own).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Deliberate, so not warnings: subdomains may serve other things over http, and HSTS
# preloading is a commitment only the domain's owner can make.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    "security.W021",
]

INSTALLED_APPS = [
    "fc25_denoise",  # first: its runserver (Uvicorn, ASGI) replaces Django's WSGI one
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "users",
    "recordings",
    "streams",
    "frontend",
]

MIDDLEWARE = [
    # First: turns any non-JSON error under /api/ (DEBUG pages included) into JSON.
    "fc25_denoise.errors.JsonApiErrors",
    "django.middleware.security.SecurityMiddleware",
    "fc25_denoise.adminaccess.AdminNetworks",  # before sessions: a 404 reads nothing
    "fc25_denoise.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fc25_denoise.urls"
ASGI_APPLICATION = "fc25_denoise.asgi.application"
AUTH_USER_MODEL = "users.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite in the data folder, or PostgreSQL from DATABASE_URL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # WAL lets the recorder thread write while pages read; IMMEDIATE takes the
            # write lock when a transaction starts, so concurrent writers wait
            # (timeout) instead of failing with "database is locked".
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL;",
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
            },
            # Tests get a file database, not Django's shared-cache in-memory one: worker
            # threads (live sessions, recording jobs) write concurrently, and shared-cache
            # table locks fail at once ("database table is locked") instead of waiting.
            "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"fc25-test-{os.getpid()}.sqlite3")},
        }
    }

# --- Channel layer and cache: in-memory, or Redis from REDIS_URL (needed as
# soon as there is more than one server process).
REDIS_URL = env_str("REDIS_URL")
PEAKS_CACHE_ENTRIES = 1000
"""Waveform envelopes kept without Redis (64 KB each: at most 64 MB per process)."""
REDIS_PREFIX = env_str("FC25_REDIS_PREFIX", "fc25")
REDIS_SOCKET_TIMEOUT_S = 15
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s socket timeout equals channels-redis's 5 s
                # blocking pop, so every idle receive ended in a TimeoutError.
                "hosts": [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT_S}],
                "prefix": f"{REDIS_PREFIX}:asgi",
            },
        }
    }
    CACHES: dict[str, dict[str, object]] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        },
        # Waveform envelopes (recordings/peaks.py), each expiring a day after it is made.
        "peaks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        },
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Login records (users/logins.py) and throttle counters; Django's default of 300
    # entries would cull the records of a few hundred logins, which then count as unknown.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        },
        # Waveform envelopes (recordings/peaks.py, 64 KB each): bounded on their own.
        "peaks": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "peaks",
            "OPTIONS": {"MAX_ENTRIES": PEAKS_CACHE_ENTRIES},
        },
    }

# --- Auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if RUNNING_TESTS:
    # Hashing cost is not what the tests are about.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "/login/"
# Every authenticate() with a request goes through the login throttle (users/throttle.py),
# which ends authentication on a wrong password: ModelBackend after it only loads the users
# of sessions that were logged in through it before the throttle existed.
AUTHENTICATION_BACKENDS = [
    "users.throttle.ThrottledModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_RATE_LIMIT = env_int("FC25_LOGIN_RATE_LIMIT", 10, minimum=1)
"""Failed logins allowed per (user name, client address) pair in the window."""
LOGIN_CLIENT_LIMIT = env_int("FC25_LOGIN_CLIENT_LIMIT", 100, minimum=1)
"""Failed logins allowed per client address across all user names in the window."""
LOGIN_RATE_WINDOW = env_int("FC25_LOGIN_RATE_WINDOW", 300, minimum=1)
"""Throttle window in seconds, from a counter's first failure."""
LOGIN_CHECKS_PER_MINUTE = env_int("FC25_LOGIN_CHECKS_PER_MINUTE", 30, minimum=1)
"""Password checks (right or wrong) per client address per minute: each costs a quarter
second of CPU, so a loop of right passwords must stop too."""
REGISTER_CLIENT_LIMIT = env_int("FC25_REGISTER_CLIENT_LIMIT", 10, minimum=1)
"""Registration attempts allowed per client address per ``REGISTER_WINDOW``."""
REGISTER_WINDOW = env_int("FC25_REGISTER_WINDOW", 3600, minimum=1)
"""Registration throttle window in seconds, from a client's first attempt."""
METRICS_TOKEN = env_str("FC25_METRICS_TOKEN")
"""Bearer token that opens /metrics to any client (else only direct loopback/private ones)."""
PROXY_COUNT = env_int("FC25_PROXY_COUNT", 0, minimum=0)
"""Trusted reverse proxies in front that append to X-Forwarded-For; 0 = use REMOTE_ADDR."""
MAX_DOWNLOADS_PER_USER = env_int("FC25_MAX_DOWNLOADS_PER_USER", 8, minimum=1)
"""Recording downloads one user may have open at once in one server process (429 past it)."""
MAX_PRESENCE_SOCKETS = env_int("FC25_MAX_PRESENCE_SOCKETS", 8, minimum=1)
"""Presence sockets one user may hold open; the next is closed with code 4429."""
PRESENCE_CONNECTS_PER_MINUTE = env_int("FC25_PRESENCE_CONNECTS_PER_MINUTE", 120, minimum=1)
"""Presence sockets one user may open in a minute (all processes, with Redis; refused ones
not counted); more are refused (close 4408): a user's first socket opening and last one
closing tell every friend, so a loop of one socket would flood the friends' pages."""

SESSION_ENGINE = "users.sessionstore"
"""Django's database sessions, expired rows removed in one statement and swept while the
server runs (users/sessionstore.py)."""
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("FC25_SECURE_COOKIES", PUBLIC_HTTPS)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_FAILURE_VIEW = "fc25_denoise.errors.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# The DEBUG error page and error mails hide connection strings too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "fc25_denoise.errorfilter.ConnectionStringFilter"

# --- Request size: API bodies are small JSON (an SDP offer is a few KB).
API_MAX_BODY_BYTES = env_int("FC25_API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
SEND_TIMEOUT_S = env_float("FC25_SEND_TIMEOUT_S", 60.0, lo=1.0, hi=3600.0)
"""Longest a response waits for its client to take more of it (fc25_denoise.stalls): nginx's
own ``send_timeout``, for a server reached without it."""

# --- Static files (whitenoise serves them, also with DEBUG off) and media.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("FC25_STATIC_ROOT", str(DATA_DIR / "staticfiles"))).resolve()
WHITENOISE_USE_FINDERS = True  # serve straight from static/ too: no collectstatic needed
MEDIA_ROOT = Path(env_str("FC25_MEDIA_ROOT", str(DATA_DIR / "media"))).resolve()
MEDIA_URL = "/media/"  # never served directly: recordings go through permission checks
# Recordings go through Django's storage API: the local media folder, or any
# S3-compatible store when FC25_S3_BUCKET is set (credentials from the usual
# AWS_* variables or the instance role, never from this file).
S3_BUCKET = env_str("FC25_S3_BUCKET")
if S3_BUCKET:
    _default_storage: dict[str, object] = s3_storage(
        S3_BUCKET,
        endpoint_url=env_str("FC25_S3_ENDPOINT_URL") or None,
        region=env_str("FC25_S3_REGION") or None,
        prefix=env_str("FC25_S3_PREFIX"),
    )
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
SPOOL_DIR = DATA_DIR / "spool"
"""Local folder for recordings being written live (moved to storage when the stream ends)."""
RECORDINGS_QUOTA_BYTES = env_int("FC25_RECORDINGS_QUOTA_MB", 2048, minimum=0) * 1024 * 1024
"""Stored bytes allowed per user (both versions of every recording); 0 = unlimited."""
UPLOAD_MAX_BYTES = env_int("FC25_UPLOAD_MAX_MB", 200, minimum=1) * 1024 * 1024
"""Largest audio file accepted by POST /api/recordings/import/ (413 beyond)."""
IMPORT_MAX_SECONDS = env_float("FC25_IMPORT_MAX_MINUTES", 180.0, lo=1.0, hi=24 * 60.0) * 60
"""Longest audio an import may hold (a small silent FLAC can claim days); longer gets 413."""
IMPORT_MAX_CHANNELS = env_int("FC25_IMPORT_MAX_CHANNELS", 8, minimum=1)
"""Most channels an import may have (more gets 413); above 2 the mono mix is stored."""
IMPORT_MAX_RATE = env_int(
    "FC25_IMPORT_MAX_RATE_HZ",
    192_000,
    minimum=8_000,
    maximum=655_350,  # FLAC's own limit
)
"""Highest sample rate an import may have (413 beyond): with the length and channel limits it
bounds the samples one import makes the server decode and clean."""
MAX_OPEN_JOBS = env_int("FC25_MAX_OPEN_JOBS", 4, minimum=1)
"""Most imports and re-cleans one user may have queued or running at once (429 beyond), so
no user can fill the shared job queue."""
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024  # bigger uploads spool to a temp file
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    # Bigger uploads go to the process's scratch folder, swept once the process is gone.
    "recordings.uploads.ScratchUploadHandler",
]
RECORDING_JOB_WORKERS = env_int("FC25_JOB_WORKERS", 1, minimum=1)
"""Threads running import and re-clean jobs in each server process."""

# --- Live streams and the engine.
# The default is the engine's (denoise.registry.DEFAULT_MODEL, dfn3-onnx): the official
# DeepFilterNet3 weights on ONNX Runtime (same output as the official runtime to 131 dB
# SI-SDR), 30 % cheaper alone and batched across streams.
DENOISE_MODEL = env_choice("FC25_DENOISE_MODEL", DEFAULT_MODEL, tuple(available_models()))
"""A registered name; one that then fails to load (its files) makes /readyz and going live 503."""
DENOISE_WORKERS = env_int("FC25_DENOISE_WORKERS", 2, minimum=1)
DENOISE_BATCHING = env_bool("FC25_DENOISE_BATCHING", True)
"""Run the ONNX models' hops of all live streams in shared batches (denoise.batching)."""
DENOISE_BATCH_WAIT_MS = env_float("FC25_DENOISE_BATCH_WAIT_MS", 4.0, lo=0.0, hi=20.0)
"""Longest a hop waits for other streams' hops before its batch runs. A lone stream never
waits (the batch runs once every live stream has a hop in); with several, bigger batches
cost much less CPU per stream (docs/benchmarks.md) for at most this much more delay."""
REALTIME_PRIORITY = env_int("FC25_REALTIME_PRIORITY", 10, minimum=0, maximum=99)
"""Real-time (SCHED_RR) priority of the inference threads; 0 = normal scheduling. Without
CAP_SYS_NICE or an rtprio limit the threads run normally and the server logs a warning."""
DENOISE_ATTEN_LIM_DB = env_float("FC25_ATTEN_LIM_DB", 100.0, lo=6.0, hi=100.0)
MAX_LIVE_STREAMS = env_int("FC25_MAX_LIVE_STREAMS", 8, minimum=1)
"""Per process. 8 leaves headroom on 2 cores: two processes carried 20 streams together on an
AMD EPYC Zen 4 and 28 on a Zen 5, one carried 12 (bench/live_streams.py; docs/benchmarks.md,
"Live capacity")."""
MAX_LISTENERS_PER_STREAM = env_int("FC25_MAX_LISTENERS", 100, minimum=1)
DENOISE_BUDGET_MS = env_int("FC25_DENOISE_BUDGET_MS", 30, minimum=5)
"""A frame whose inference takes longer is passed through (counted) instead of waited for."""
STREAM_HEARTBEAT_S = env_float("FC25_STREAM_HEARTBEAT", 10.0, lo=0.1, hi=300.0)
"""Seconds between a server process's heartbeats; a process silent for two is dead and
its streams are ended by the others (friends see it within three)."""
NODE_CALL_TIMEOUT_S = env_float("FC25_FORWARD_TIMEOUT", 5.0, lo=0.1, hi=60.0)
"""How long a request forwarded to the process hosting a stream waits for it (then 503)."""
NODE_NAME = env_str("FC25_NODE_NAME") or f"{socket.gethostname()}:{os.getpid()}"
"""This server process's name in logs and in the ``LiveNode`` table."""
PUBLIC_IP = env_ip("FC25_PUBLIC_IP")
"""The address this process's ICE candidates carry when its own interface address is not
reachable by browsers (a cloud VM behind 1:1 NAT); empty: the interface addresses."""
MAX_BACKLOG_MS = env_int("FC25_MAX_BACKLOG_MS", 200, minimum=40)
"""Audio a stream may fall behind real time (a saturated process) before frames are dropped."""
WEBRTC_STUN_URLS = env_list("FC25_STUN_URLS", [])
"""STUN servers for ICE; none needed on one host or a LAN."""
TURN_URLS = env_list("FC25_TURN_URLS", [])
"""TURN URLs handed to browsers (``turn:host:3478?transport=udp``, ``turns:...``)."""
TURN_SECRET = env_str("FC25_TURN_SECRET")
"""coturn's ``static-auth-secret``: browsers get HMAC credentials from it (streams/ice.py)."""
TURN_TTL_S = env_int("FC25_TURN_TTL", 24 * 3600, minimum=60)
"""Seconds a TURN credential stays valid (a relayed call cannot outlive it)."""
ICE_PRIVATE_PEERS = env_bool("FC25_ICE_PRIVATE_PEERS", PUBLIC_URL is None)
"""Whether the server tries to reach the loopback, private and link-local addresses a
client's offer names as ICE candidates: on for one machine or a LAN, off on a public
deployment (``FC25_PUBLIC_URL``), where a client could otherwise have the server probe its
own networks (streams/webrtc/candidates.py). TURN servers' addresses are always reached."""
ADMIN_NETWORKS = env_networks("FC25_ADMIN_NETWORKS")
"""Networks (``10.0.0.0/8,127.0.0.1``) whose clients may reach the Django admin; others get
404 for ``/admin/`` (fc25_denoise/adminaccess.py). Empty: everyone, behind its login."""
ICE_ALLOWED_PEERS = env_networks("FC25_ICE_ALLOWED_PEERS")
"""More addresses (or networks, ``10.0.5.0/24``) whose ICE candidates are tried whatever
``ICE_PRIVATE_PEERS`` says: a TURN server on a private network, named by host name."""
TURN_EXTERNAL_IP = env_ip("FC25_TURN_EXTERNAL_IP")
"""The bundled coturn's public address behind NAT (deploy/infra/coturn.sh): this host's,
so the ICE filter tries it only on the relay ports, as it does ``PUBLIC_IP``."""
TURN_RELAY_PORTS = (
    env_int("FC25_TURN_MIN_PORT", 49152, minimum=1, maximum=65535),
    env_int("FC25_TURN_MAX_PORT", 65535, minimum=1, maximum=65535),
)
"""The UDP ports the TURN servers relay from (coturn's ``min-port``/``max-port``; default
coturn's own 49152-65535). A candidate naming this host's own address, or a TURN server's
private one, is tried only on these ports: on any other it would reach this host's or that
network's services (streams/webrtc/candidates.py)."""
if TURN_RELAY_PORTS[0] > TURN_RELAY_PORTS[1]:
    raise ImproperlyConfigured(
        f"FC25_TURN_MIN_PORT={TURN_RELAY_PORTS[0]} is above "
        f"FC25_TURN_MAX_PORT={TURN_RELAY_PORTS[1]}"
    )
FORCE_RELAY = env_bool("FC25_FORCE_RELAY", False)
"""Pages use only TURN relay candidates (iceTransportPolicy "relay")."""
if TURN_URLS and not TURN_SECRET:
    raise ImproperlyConfigured(
        "FC25_TURN_URLS is set but FC25_TURN_SECRET is empty: browsers would get TURN "
        "servers without credentials. Set FC25_TURN_SECRET (coturn's static-auth-secret)."
    )
if FORCE_RELAY and not TURN_URLS:
    raise ImproperlyConfigured(
        "FC25_FORCE_RELAY=1 needs a TURN server (FC25_TURN_URLS and FC25_TURN_SECRET): "
        "with relay candidates only and no relay, every call would fail."
    )
WEBRTC_JITTER_PREFETCH = env_int("FC25_JITTER_PREFETCH", 0, minimum=0)
"""Packets aiortc's receive jitter buffer holds back (its default 4 adds ~80 ms); 0: none,
each packet is decoded on arrival."""
OPUS_FRAME_MS = int(env_choice("FC25_OPUS_FRAME_MS", "20", ("10", "20")))
"""Opus packet duration on both legs, 10 or 20 ms: the broadcaster is asked for it (the
answer's ``a=ptime``) and listeners are sent it."""
WEBRTC_MEDIA_TIMEOUT = env_float("FC25_MEDIA_TIMEOUT", 5.0, lo=0.5, hi=600.0)
"""Seconds without audio from the broadcaster before the stream is ended and saved."""
WEBRTC_CONNECT_TIMEOUT = env_float("FC25_CONNECT_TIMEOUT", 20.0, lo=1.0, hi=600.0)
"""Seconds a new stream may take to connect before it is dropped."""
SPOOL_BUFFER_S = env_float("FC25_SPOOL_BUFFER", 5.0, lo=0.1, hi=120.0)
"""Seconds of a live recording that may wait for a slow spool disk; beyond, the recording
gets a gap (silence, counted and logged) instead of the stream waiting for the disk."""
LIVE_FIGURES_EVERY_S = env_float("FC25_LIVE_FIGURES_EVERY", 5.0, lo=0.1, hi=300.0)
"""Seconds between two keepings of a live recording's figures (gaps, dB removed) beside
its spool: what a process killed mid-stream loses of them at most."""

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        "aioice": {"level": "WARNING"},
        "aiortc": {"level": "WARNING"},
    },
}
