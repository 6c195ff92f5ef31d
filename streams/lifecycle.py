"""Finalize live streams when the server process shuts down.

Daphne runs on Twisted's asyncio reactor and does not speak the ASGI lifespan
protocol, so the hub registers a "before shutdown" trigger with the reactor;
Twisted waits for the returned Deferred, so recordings are closed and saved
before the process exits. Outside Daphne (tests) nothing is registered.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


def install_shutdown_hook(shutdown: Callable[[], Awaitable[None]]) -> bool:
    """Run ``shutdown()`` before the Twisted reactor stops; False outside Daphne."""
    if "twisted.internet.reactor" not in sys.modules:
        return False
    from twisted.internet import defer, reactor

    def before_shutdown() -> Any:
        return defer.Deferred.fromFuture(asyncio.ensure_future(shutdown()))

    core: Any = reactor  # the installed reactor is an IReactorCore at run time
    core.addSystemEventTrigger("before", "shutdown", before_shutdown)
    logger.info("live streams will be finalized at server shutdown")
    return True
