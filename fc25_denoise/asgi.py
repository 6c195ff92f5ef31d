"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fc25_denoise.settings")
get_asgi_application()  # set up Django before importing consumers

from fc25_denoise.errors import JsonErrorsASGIHandler  # noqa: E402

django_asgi_app = JsonErrorsASGIHandler()  # Django's handler, JSON errors under /api/

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from fc25_denoise.limits import reject_if_oversized  # noqa: E402
from fc25_denoise.runtime import job_runner  # noqa: E402
from fc25_denoise.server import leave_form_bodies_to_django  # noqa: E402
from users.events import remember_loop  # noqa: E402
from users.routing import websocket_urlpatterns as user_ws  # noqa: E402

leave_form_bodies_to_django()  # Django answers a malformed multipart body (JSON under /api/)

if not settings.RUNNING_TESTS:  # tests run their jobs explicitly
    # Recording jobs left queued by a previous run (or another process) get picked up.
    job_runner().start_polling()

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(user_ws))),
    }
)


async def application(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The ASGI app; remembers the server loop so worker threads can publish events,
    and refuses oversized uploads before Django reads (and spools) their body."""
    remember_loop(asyncio.get_running_loop())
    if scope["type"] == "http" and await reject_if_oversized(scope, send):
        return
    await router(scope, receive, send)
