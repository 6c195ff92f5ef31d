"""Bound every request body at the ASGI entry, before Django reads any of it.

Django's ASGI handler reads the whole body (into a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any view runs, so a view-level check
would come after a client had already filled memory or disk. :class:`BodyLimit`
runs first, for every HTTP request that carries a body:

1. a declared ``Content-Length`` over the route's limit: 413, nothing read;
2. anonymous on a route that needs a login (every ``/api/`` route but
   :data:`OPEN_ROUTES`): 401, nothing read (the session is looked up in a thread);
3. an import while its account already has ``MAX_OPEN_JOBS`` import bodies in
   flight: 429, nothing read (:func:`take_import_slot`). Django spools a whole
   import to disk, and the multipart parser copies it, before the view's open-jobs
   and quota checks run: without this, one account's parallel uploads could fill
   the disk;
4. otherwise the body is counted as Django reads it; once past the limit
   (chunked bodies declare no length) the reply is a 413 and Django sees the
   client disconnect, so it stops reading and drops what it spooled.

The server (Uvicorn) reads from the socket only as the app asks for the body,
so an unread or refused body is never buffered beyond its small high-water mark.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib import import_module
from typing import Any

from asgiref.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPScope,
    Scope,
)
from channels.auth import get_user
from django.conf import settings
from django.http import parse_cookie

from . import cachecount
from .threads import ThreadLane, run_on


def _sync_get_user() -> Callable[[Any], Any]:
    """Channels' ``get_user`` as the plain function it wraps for its shared thread, to run
    on a lane instead.

    Raises:
        ImportError: this Channels' ``get_user`` wraps no plain function (the server
            would otherwise fail on every session look-up).
    """
    func = getattr(get_user, "func", None)
    if func is None or not callable(func) or asyncio.iscoroutinefunction(func):
        raise ImportError("channels.auth.get_user no longer wraps a plain function")
    return func


SYNC_GET_USER = _sync_get_user()
"""The user a scope's session names (AnonymousUser if none); a database call."""

SESSION_CHECKS = ThreadLane("session-check", 4, keep_queued=True)
"""The session look-ups and upload-slot counters of requests with a body, before Django sees
them: not asgiref's one shared thread, where a slow query would hold every other caller.
Calls queued at server stop still run (an upload slot is given back)."""

FORM_OVERHEAD = 64 * 1024
"""Multipart boundaries and the small form fields around a file."""

App = Callable[[Any, Any, Any], Awaitable[None]]
"""An ASGI application (Django's handler types its arguments loosely)."""

IMPORT_PATH = "/api/recordings/import/"
OPEN_ROUTES = frozenset(
    {"/api/auth/csrf/", "/api/auth/login/", "/api/auth/register/", "/api/auth/logout/"}
)
"""The only ``/api/`` routes that take a body from an anonymous client (their views
are ``@api_view(login=False)``; logging out without a session is a 204)."""


NOT_LOGGED_IN = "You are not logged in."
"""The same words as ``@api_view``'s 401."""


def body_limit(path: str) -> int:
    """The largest body accepted on ``path`` (read now: settings may change)."""
    if path == IMPORT_PATH:
        return int(settings.UPLOAD_MAX_BYTES) + FORM_OVERHEAD
    # JSON API bodies, and the admin's and pages' small forms.
    return int(settings.API_MAX_BODY_BYTES) + FORM_OVERHEAD


def too_large_message(path: str) -> str:
    if path == IMPORT_PATH:
        mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
        return f"The file is larger than the {mb} MB limit."
    return f"Request body is larger than {settings.API_MAX_BODY_BYTES} bytes."


def header(scope: HTTPScope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def declared_length(scope: HTTPScope) -> int | None:
    value = header(scope, b"content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def has_body(scope: HTTPScope) -> bool:
    """True if the request declares a non-empty body or a chunked one."""
    length = declared_length(scope)
    return bool(length) or header(scope, b"transfer-encoding") is not None


def needs_login(path: str) -> bool:
    """Whether an anonymous body on ``path`` is refused here. Not on a path without its
    final slash: no route has one, and Django answers the 404 naming the right path
    (``errors.JsonApiErrors``), having read the body as it reads any, within the
    route's body limit (:func:`counted`)."""
    return path.startswith("/api/") and path.endswith("/") and path not in OPEN_ROUTES


async def session_user_id(scope: HTTPScope) -> int | None:
    """The id of the logged-in user the request's session cookie names, or None
    (one session look-up)."""
    cookies = parse_cookie((header(scope, b"cookie") or b"").decode("latin-1"))
    key = cookies.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    store: Any = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = await run_on(SESSION_CHECKS, SYNC_GET_USER, {"session": store})
    return int(user.pk) if user.is_authenticated else None


IMPORT_SLOT_TTL_S = 15 * 60
"""Safety net of the in-flight import counters: one expires this long after its first
take, so slots a killed process never gave back are not lost for good. Uploads still
running then are no longer counted (the view's own checks still apply)."""


def _slot_key(user_id: int) -> str:
    return f"import-inflight:{user_id}"


def import_slots_full_message() -> str:
    return f"Too many uploads at once (at most {settings.MAX_OPEN_JOBS}); wait for one to finish."


def take_import_slot(user_id: int) -> bool:
    """Count one more import body in flight for ``user_id``; False (nothing counted) if
    ``MAX_OPEN_JOBS`` are already. A True must be matched by :func:`give_back_import_slot`.

    Atomic with Django's cache (one increment, given back if past the cap), so it holds
    across processes when the cache is Redis; per process with the local-memory cache.
    Blocking (a cache round trip).
    """
    key = _slot_key(user_id)
    if cachecount.take(key, IMPORT_SLOT_TTL_S) > settings.MAX_OPEN_JOBS:
        cachecount.give_back(key)
        return False
    return True


def give_back_import_slot(user_id: int) -> None:
    """Release a slot :func:`take_import_slot` gave ``user_id``. Blocking."""
    cachecount.give_back(_slot_key(user_id))


async def reply(send: ASGISendCallable, status: int, message: str) -> None:
    """A JSON error reply that closes the connection (the rest of the body stays unread)."""
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
            "trailers": False,
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyLimit:
    """ASGI middleware: refuse anonymous or oversized request bodies, and imports past
    their account's in-flight cap (see the module doc)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http" or not has_body(scope):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = body_limit(path)
        length = declared_length(scope)
        if length is not None and length > limit:
            await reply(send, 413, too_large_message(path))
            return
        user_id = await session_user_id(scope) if needs_login(path) else None
        if needs_login(path) and user_id is None:
            await reply(send, 401, NOT_LOGGED_IN)
            return
        if path != IMPORT_PATH or user_id is None:
            await self.app(scope, *counted(scope, receive, send, limit))
            return
        if not await run_on(SESSION_CHECKS, take_import_slot, user_id):
            await reply(send, 429, import_slots_full_message())
            return
        try:
            await self.app(scope, *counted(scope, receive, send, limit))
        finally:
            # Shielded: a request cancelled now still gives its slot back.
            await asyncio.shield(run_on(SESSION_CHECKS, give_back_import_slot, user_id))


def counted(
    scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable, limit: int
) -> tuple[ASGIReceiveCallable, ASGISendCallable]:
    """``receive``/``send`` wrappers that cut the request off past ``limit`` body bytes.

    Past the limit the client gets a 413 (unless a response already started) and
    the app gets ``http.disconnect``, now and on every later read; whatever the
    app sends afterwards is dropped.
    """
    received = 0
    refused = False
    started = False

    async def limited_receive() -> ASGIReceiveEvent:
        nonlocal received, refused
        if refused:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                if not started:
                    await reply(send, 413, too_large_message(scope["path"]))
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: ASGISendEvent) -> None:
        nonlocal started
        if refused:
            return
        started = started or message["type"] == "http.response.start"
        await send(message)

    return limited_receive, guarded_send
