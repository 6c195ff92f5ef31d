"""Request bodies spooled to disk off the event loop.

Django's ASGI handler reads a request's body into a ``SpooledTemporaryFile`` on the
event loop: in memory up to ``FILE_UPLOAD_MAX_MEMORY_SIZE``, then on disk. An import may
be 200 MB, and a disk that is busy writing back (or slow) can hold each ``write()`` for
hundreds of milliseconds, while every live stream of the process waits for the loop.
:class:`SpooledBodyHandler` reads the body as Django does, but every write past the
memory part runs on :data:`UPLOAD_SPOOL`, a lane of its own.
"""

from __future__ import annotations

import tempfile
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted

from .errors import JsonErrorsASGIHandler
from .threads import ThreadLane

UPLOAD_SPOOL = ThreadLane("upload-spool", 2)
"""Disk writes of request bodies (2: uploads are capped per account, and a write that waits
on the disk holds its own thread only)."""


class SpooledBodyHandler(JsonErrorsASGIHandler):
    """The app's ASGI handler: JSON errors (:class:`JsonErrorsASGIHandler`), and request
    bodies whose disk part is written on :data:`UPLOAD_SPOOL`."""

    async def read_body(self, receive: Any) -> Any:
        """The whole body as a file positioned at its start (Django's contract).

        Raises:
            RequestAborted: the client disconnected first (the file is closed, and so
                removed, on :data:`UPLOAD_SPOOL`).
        """
        in_memory = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        # Not a context manager: the file is handed on open (Django closes it).
        body_file = tempfile.SpooledTemporaryFile(max_size=in_memory, mode="w+b")  # noqa: SIM115
        on_disk = sync_to_async(body_file.write, thread_sensitive=False, executor=_pool())
        received = 0
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()
                chunk = message.get("body", b"")
                if chunk:
                    received += len(chunk)
                    # Past the memory part the file rolls over to disk (copying what it
                    # held) and every later write goes there: all of it off the loop.
                    if received > in_memory:
                        await on_disk(chunk)
                    else:
                        body_file.write(chunk)
                if not message.get("more_body", False):
                    break
        except BaseException:
            # Closing a file on disk removes it: not on the loop, and not awaited (a
            # cancelled request cannot wait).
            _pool().submit(body_file.close)
            raise
        body_file.seek(0)
        return body_file


def _pool() -> Any:
    return UPLOAD_SPOOL.executor()
