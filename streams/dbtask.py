"""Database work from the live path's event-loop code."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

T = TypeVar("T")


async def db(fn: Callable[..., T], *args: object) -> T:
    """Run a service function in a worker thread with a fresh DB connection.

    Not thread-sensitive on purpose: sessions outlive the request that
    created them, and the request's thread executor is gone by then.
    """

    def call() -> T:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()
