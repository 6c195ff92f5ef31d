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
use plain http on the node's own port; the deployment's nginx does not pass ``/readyz`` on
(its answers name the services behind the node).

The blocking checks run on a lane of their own (:data:`HEALTH_LANE`), never the loop's
default executor, and a check still running from an earlier request is awaited again
instead of started twice: a storage that never answers holds one thread per check, however
often ``/readyz`` is asked, and nothing else waits behind it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import close_old_connections, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from denoise.registry import check_model

from .threads import ThreadLane

CHECK_TIMEOUT_S = 5.0
"""Longest one readiness check may take before it counts as failed."""

Check = Callable[[], Awaitable[None]]

HEALTH_LANE = ThreadLane("readyz", 3)
"""Threads of the blocking checks: database, storage and model, one each at most."""
_running: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = {}


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def _database() -> None:
    close_old_connections()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        close_old_connections()


async def check_database() -> None:
    """The database answers a query."""
    await HEALTH_LANE.run(_database)


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
    await HEALTH_LANE.run(_storage)


async def check_model_loaded() -> None:
    """The default denoise model is verified and loaded (loads it on first call)."""

    def load() -> None:
        check_model(settings.DENOISE_MODEL)

    await HEALTH_LANE.run(load)


CHECKS: dict[str, Check] = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
    "model": check_model_loaded,
}


def _started(name: str) -> asyncio.Future[None]:
    """The check ``name`` in flight on this loop, or a new run of it."""
    loop = asyncio.get_running_loop()
    held = _running.get(name)
    if held is not None and held[0] is loop and not held[1].done():
        return held[1]
    future = asyncio.ensure_future(CHECKS[name]())
    _running[name] = (loop, future)
    return future


async def _run(name: str) -> dict[str, object]:
    try:
        # Shielded: a timed-out check keeps running, and the next request awaits it.
        await asyncio.wait_for(asyncio.shield(_started(name)), CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        return {"ok": False, "error": f"{type(exc).__name__}: {first_line}".rstrip(": ")}
    return {"ok": True}


async def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: every check of :data:`CHECKS`; 503 when one fails."""
    if request.method not in ("GET", "HEAD"):
        resp = JsonResponse({"error": "Only GET and HEAD are allowed here."}, status=405)
        resp["Allow"] = "GET, HEAD"
        return resp
    names = list(CHECKS)
    results = await asyncio.gather(*(_run(name) for name in names))
    checks = dict(zip(names, results, strict=True))
    ready = all(result["ok"] for result in results)
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
