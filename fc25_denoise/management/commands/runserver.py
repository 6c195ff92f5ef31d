"""``manage.py runserver``: the development server is the production one (Uvicorn).

Django's own runserver speaks WSGI only (no WebSockets, no live streams), so
this command replaces it: the same ASGI app as ``make run``, with the lifespan
protocol (live streams finalized on stop) and the body limits of
:mod:`fc25_denoise.limits`, reloading on code changes unless ``--noreload``.
"""

from __future__ import annotations

import re
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

WS_MAX_BYTES = 64 * 1024
"""Uvicorn's cap on one WebSocket message, after decompression (its default is 16 MiB, which
a compressed frame of 16 KB reaches). Every launch passes it (``--ws-max-size`` in the
Makefile, the Dockerfile and ``tests/servers.py``; ``tests/presence/test_presence_frame_limit.py``
checks they agree); the presence socket parses at most ``MAX_FRAME_CHARS`` of it."""

GRACEFUL_SHUTDOWN_S = 10
"""How long a stopping server waits for open requests before its lifespan shutdown (which
saves the live streams' recordings) runs anyway. Uvicorn waits for ever by default: one
client holding an upload open would keep the streams from being saved until the
orchestrator kills the process. Every launch passes it (``--timeout-graceful-shutdown``,
beside ``--ws-max-size``)."""

ADDRPORT = re.compile(r"^(?:(?P<host>[^:]+|\[[0-9a-fA-F:]+\]):)?(?P<port>\d+)$")


def parse_addrport(value: str) -> tuple[str, int]:
    """``"8001"``, ``"0.0.0.0:8001"`` or ``"[::1]:8001"`` -> (host, port); 127.0.0.1 by default."""
    match = ADDRPORT.match(value)
    if match is None:
        raise CommandError(f'"{value}" is not a port number or address:port pair.')
    host = (match["host"] or "127.0.0.1").strip("[]")
    return host, int(match["port"])


class Command(BaseCommand):
    help = "Serve the ASGI app (pages, API, WebSockets, live streams) with Uvicorn."
    requires_system_checks = []  # run by the served process itself

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--noreload",
            action="store_false",
            dest="use_reloader",
            help="Do not restart the server when the code changes.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = parse_addrport(options["addrport"])
        uvicorn.run(
            "fc25_denoise.asgi:application",
            host=host,
            port=port,
            lifespan="on",
            ws_max_size=WS_MAX_BYTES,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            reload=options["use_reloader"],
            reload_dirs=[str(settings.BASE_DIR)],
        )
