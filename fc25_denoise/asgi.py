"""ASGI entry point: HTTP through Django, WebSockets through Channels, and the
server's lifespan (start and stop this process's long-lived services)."""

import asyncio
import gc
import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fc25_denoise.settings")
get_asgi_application()  # set up Django before importing consumers

from fc25_denoise.bodyspool import SpooledBodyHandler  # noqa: E402

# Django's handler: JSON errors under /api/, request bodies spooled to disk off the loop.
django_asgi_app = SpooledBodyHandler()

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from fc25_denoise.limits import BodyLimit  # noqa: E402
from fc25_denoise.metrics import LOOP_MONITOR  # noqa: E402
from fc25_denoise.runtime import (  # noqa: E402
    existing_job_runner,
    existing_live_hub,
    job_runner,
    live_hub,
)
from fc25_denoise.stalls import SendDeadline  # noqa: E402
from fc25_denoise.threads import shutdown_lanes  # noqa: E402
from fc25_denoise.wsorigin import SameOriginWebSocket  # noqa: E402
from users.events import remember_loop  # noqa: E402
from users.routing import websocket_urlpatterns as user_ws  # noqa: E402
from users.sessionstore import SESSION_SWEEP  # noqa: E402
from users.wsauth import auth_stack  # noqa: E402

logger = logging.getLogger(__name__)

router = ProtocolTypeRouter(
    {
        "http": SendDeadline(BodyLimit(django_asgi_app)),
        "websocket": SameOriginWebSocket(auth_stack(URLRouter(user_ws))),
    }
)


async def startup() -> None:
    """Server start: remember the loop, join the server processes (heartbeat, sweep of
    dead processes' streams, spool recovery), resume recording jobs left queued, start the
    loop monitor and the expired-session sweep, then freeze what is alive now out of the
    garbage collector's way (:func:`freeze_startup_heap`)."""
    remember_loop(asyncio.get_running_loop())
    live_hub().node.start()
    job_runner().start_polling()
    LOOP_MONITOR.start()
    SESSION_SWEEP.start()
    # ~50 ms on the loop, but before the server accepts its first connection: nothing is live.
    logger.info("froze %d objects alive at startup", freeze_startup_heap())


def freeze_startup_heap() -> int:
    """Collect garbage, then move every object alive now to the collector's permanent
    generation; returns how many that is.

    A full collection walks every object the collector tracks, on the event loop if that is
    where it triggers, and every live stream waits for it. The ~110,000 objects that Django,
    aiortc and the engine create at startup live as long as the process, and walking them was
    about 45 ms of each full collection (docs/benchmarks.md: the collections when all streams
    stop at once took 104-131 ms of the loop; with the startup objects frozen there were none
    in the same runs). Frozen objects are never collected, so garbage is collected first.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def shutdown() -> None:
    """Server stop: finalize live streams (their recordings are saved), stop the job
    threads, then every thread lane (:func:`fc25_denoise.threads.shutdown_lanes`)."""
    await LOOP_MONITOR.stop()
    await SESSION_SWEEP.stop()
    hub = existing_live_hub()
    if hub is not None:
        await hub.shutdown()
    runner = existing_job_runner()
    if runner is not None:
        runner.shutdown()
    shutdown_lanes()


async def lifespan(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The ASGI lifespan protocol: :func:`startup`, then :func:`shutdown` when asked."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                logger.exception("server startup failed")
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await shutdown()
            except Exception as exc:
                logger.exception("server shutdown failed")
                await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The ASGI app. Request bodies are bounded before Django reads them
    (:class:`fc25_denoise.limits.BodyLimit`); the server loop is remembered so
    worker threads can publish events."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    remember_loop(asyncio.get_running_loop())
    await router(scope, receive, send)
