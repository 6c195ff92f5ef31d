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
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestAborted

from .errors import JsonErrorsASGIHandler
from .threads import ThreadLane

UPLOAD_SPOOL = ThreadLane("upload-spool", 2)
"""Disk writes of request bodies (2: uploads are capped per account, and a write that waits
on the disk holds its own thread only)."""


DISK_WRITE_BYTES = 1024 * 1024
"""The disk part of a body is written in pieces of about this size."""


class SpooledBody(tempfile.SpooledTemporaryFile[bytes]):
    """A request body's file: writes and the close are serialised (a write left running by
    a cancelled request finishes before the close), and once on disk it is closed, so
    removed, on :data:`UPLOAD_SPOOL` (Django closes it on the loop after the response)."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size=max_size, mode="w+b")
        self._guard = threading.Lock()

    @property
    def on_disk(self) -> bool:
        return bool(getattr(self, "_rolled", True))  # unknown: treat as on disk

    def write(self, data: Any) -> int:
        with self._guard:
            return super().write(data)

    def close(self) -> None:
        """Close (Django's call, once the body is read): on the lane when on disk."""
        if self.on_disk and not UPLOAD_SPOOL.owns_current_thread():
            UPLOAD_SPOOL.submit(self.close_now)
        else:
            self.close_now()

    def close_now(self) -> None:
        """Close on this thread, after any write in progress."""
        with self._guard:
            super().close()


class SpooledBodyHandler(JsonErrorsASGIHandler):
    """The app's ASGI handler: JSON errors (:class:`JsonErrorsASGIHandler`), and request
    bodies whose disk part is written on :data:`UPLOAD_SPOOL`."""

    async def read_body(self, receive: Any) -> Any:
        """The whole body as a file positioned at its start (Django's contract).

        Raises:
            RequestAborted: the client disconnected first (the file is closed, and so
                removed: on :data:`UPLOAD_SPOOL` once on disk).
        """
        in_memory = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        body_file = SpooledBody(in_memory)  # handed on open: Django closes it
        received = 0
        pending = bytearray()  # the disk part, gathered into writes of DISK_WRITE_BYTES
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise RequestAborted()
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                if chunk:
                    received += len(chunk)
                    # Past the memory part the file rolls over to disk (copying what it
                    # held) and every later write goes there: all of it off the loop, a
                    # thread hop per DISK_WRITE_BYTES rather than per chunk (~64 KB).
                    if received > in_memory:
                        pending += chunk
                    else:
                        body_file.write(chunk)
                if pending and (len(pending) >= DISK_WRITE_BYTES or not more):
                    block, pending = pending, bytearray()
                    await UPLOAD_SPOOL.run(body_file.write, block)
                if not more:
                    break
        except BaseException:
            # Not awaited (a cancelled request cannot wait), and on the lane once a write went
            # there: one may still be running (the lock orders the close after it).
            if received > in_memory:
                UPLOAD_SPOOL.submit(body_file.close_now)
            else:
                body_file.close_now()
            raise
        if body_file.on_disk:  # the seek flushes the last buffered bytes
            await UPLOAD_SPOOL.run(body_file.seek, 0)
        else:
            body_file.seek(0)
        return body_file
