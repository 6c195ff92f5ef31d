"""Refuse oversized uploads before their body is read.

Django's ASGI handler spools the whole request body to disk before any view
runs, so a view-level size check would still let a client fill the disk.
This check runs first, on the declared ``Content-Length``; the import view
checks the real size again (chunked uploads declare none).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from asgiref.typing import ASGISendCallable, HTTPScope
from django.conf import settings

FORM_OVERHEAD = 64 * 1024
"""Multipart boundaries and the small form fields around the file."""


def upload_limits() -> dict[str, Callable[[], int]]:
    """Path -> the largest body accepted there (read at request time: settings may change)."""
    return {"/api/recordings/import/": lambda: settings.UPLOAD_MAX_BYTES + FORM_OVERHEAD}


def declared_length(scope: HTTPScope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def reject_if_oversized(scope: HTTPScope, send: ASGISendCallable) -> bool:
    """Send a 413 JSON reply and return True if the declared body is too large."""
    limit = upload_limits().get(scope["path"])
    length = declared_length(scope)
    if limit is None or length is None or length <= limit():
        return False
    mb = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
    body = json.dumps({"error": f"The file is larger than the {mb} MB limit."}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
            "trailers": False,
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return True
