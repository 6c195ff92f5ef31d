"""What the sync-only middlewares cost an async API view through the ASGI app.

Usage::

    FC25_LOCAL_SECRET=1 python bench/middleware_modes.py current|async

Times ``GET /api/streams/active/`` (an async view), 1000 requests 20 at a time, through
Django's ASGI application on a fresh SQLite database: ``current`` with the middleware as
configured (WhiteNoise, the CSP header and the admin networks are sync-only, so Django runs
each request's chain on a thread of its own), ``async`` without those three (every
remaining middleware is async-capable). Prints wall and CPU milliseconds per request.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["DJANGO_SETTINGS_MODULE"] = "fc25_denoise.settings"
os.environ.setdefault("FC25_LOCAL_SECRET", "1")
os.environ["FC25_DATA_DIR"] = tempfile.mkdtemp()
os.environ.pop("DATABASE_URL", None)
variant = sys.argv[1] if len(sys.argv) > 1 else "current"

import django  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
if variant == "async":
    settings.MIDDLEWARE = [
        m
        for m in settings.MIDDLEWARE
        if m
        not in (
            "fc25_denoise.adminaccess.AdminNetworks",
            "fc25_denoise.csp.ContentSecurityPolicyMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
        )
    ]
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from users.models import User  # noqa: E402

call_command("migrate", verbosity=0)
User.objects.create_user("benchu", password="pw-123456-xyz")
client = Client()
assert client.login(username="benchu", password="pw-123456-xyz")
cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
app = get_asgi_application()


async def one() -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/streams/active/",
        "raw_path": b"/api/streams/active/",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie)],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []
    first = [True]
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if first[0]:
            first[0] = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(m: dict[str, Any]) -> None:
        sent.append(m)

    await app(scope, receive, send)
    gone.set()
    assert sent[0]["status"] == 200, sent[0]


async def main() -> None:
    for _ in range(50):
        await one()
    n = 1000
    t = time.perf_counter()
    c0 = time.process_time()
    for _ in range(n // 20):
        await asyncio.gather(*(one() for _ in range(20)))
    wall = time.perf_counter() - t
    cpu = time.process_time() - c0
    print(
        f"{variant}: {wall / n * 1e3:.3f} ms wall, {cpu / n * 1e3:.3f} ms CPU per request (20 concurrent)"
    )


asyncio.run(main())
