"""Health endpoints for load balancers and orchestrators (not under /api/).

* ``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves requests. Touches
  nothing else (no database, no session), so it is cheap enough to poll every second.
* ``GET /readyz``: runs every readiness check concurrently, each bounded by
  :data:`CHECK_TIMEOUT_S`, and answers ``{"ready": bool, "checks": {name: {"ok": bool,
  "error"?: str}}}``: 200 when every check passed, else 503. The checks: the database
  answers ``SELECT 1``; a message sent on the channel layer comes back; the recordings
  storage is reachable (the S3 bucket answers, or the media folder is writable); the
  default denoise model is loaded (loading it on first call, which is also a warm-up).

Both are exempt from the https redirect (``SECURE_REDIRECT_EXEMPT``) so health checks can
use plain http on the node's own port.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from denoise.registry import check_model

CHECK_TIMEOUT_S = 5.0
"""Longest one readiness check may take before it counts as failed."""

Check = Callable[[], Awaitable[None]]


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def check_database() -> None:
    """The database answers a query (on Django's thread for ORM calls)."""
    await sync_to_async(_database)()


async def check_channel_layer() -> None:
    """A message sent to a fresh channel of this process comes back.

    Raises:
        RuntimeError: no channel layer, or another message arrived.
    """
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("the channel layer returned another message")


def _storage() -> None:
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None:  # django-storages S3: the bucket exists and we may use it
        bucket.meta.client.head_bucket(Bucket=bucket.name)
        return
    location = Path(getattr(default_storage, "location", settings.MEDIA_ROOT))
    probe = location
    while not probe.exists():  # a fresh install has no media folder yet
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        raise PermissionError(f"{probe} is not writable")


async def check_storage() -> None:
    """Recordings storage is reachable (S3 bucket answers, or the media folder is writable)."""
    await asyncio.to_thread(_storage)


async def check_model_loaded() -> None:
    """The default denoise model is verified and loaded (loads it on first call)."""
    await asyncio.to_thread(check_model, settings.DENOISE_MODEL)


CHECKS: dict[str, Check] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
    "model": check_model_loaded,
}


async def _run(check: Check) -> dict[str, object]:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return {"ok": False, "error": f"{type(exc).__name__}: {first_line}".rstrip(": ")}
    return {"ok": True}


async def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every check of :data:`CHECKS`; 503 when one fails."""
    if request.method != "GET":
        return JsonResponse({"error": "Only GET is allowed here."}, status=405)
    names = list(CHECKS)
    results = await asyncio.gather(*(_run(CHECKS[name]) for name in names))
    checks = dict(zip(names, results, strict=True))
    ready = all(result["ok"] for result in results)
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
