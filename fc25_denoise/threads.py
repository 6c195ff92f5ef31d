"""Named pools of worker threads, one per kind of blocking work the event loop hands off.

Everything handed to the loop's default executor shares its few threads (on 2 cores,
6): a storage call that hangs for a minute, repeated, holds all of them, and then the
live path's heartbeat waits behind it until other processes take this one's streams for
dead. Each kind of work that must not wait behind another gets its own
:class:`ThreadLane`; a stuck lane holds only its own threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from asgiref.sync import sync_to_async

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ThreadLane:
    """A pool of ``threads`` worker threads named ``name``, made on first use.

    The lane owns its threads: :meth:`shutdown` stops them (work already queued is
    dropped unless the lane was made with ``keep_queued``; running calls finish on their
    own); the next :meth:`executor` call makes a fresh pool, so a lane outlives a server's
    stop and start in one process (tests). Every lane made is registered:
    :func:`shutdown_lanes` stops them all at server stop, so a new lane cannot be forgotten.
    """

    def __init__(self, name: str, threads: int, *, keep_queued: bool = False) -> None:
        """``keep_queued``: calls queued when the server stops still run (bookkeeping
        that must happen: an upload slot given back, a closed socket's presence row).

        Raises ValueError for fewer than one thread or a name another lane has (the name
        prefixes the threads' names, which :meth:`owns_current_thread` reads).
        """
        if threads < 1:
            raise ValueError(f"lane {name!r} needs at least one thread, not {threads}")
        self.name = name
        self.threads = threads
        self.keep_queued = keep_queued
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        with _REGISTRY_LOCK:
            if any(lane.name == name for lane in _LANES):
                raise ValueError(f"a lane named {name!r} exists already")
            _LANES.append(self)

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=self.name)
            return self._pool

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on one of this lane's threads, awaited (no database handling:
        :func:`run_on` adds it)."""
        return await sync_to_async(fn, thread_sensitive=False, executor=self.executor())(*args)

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        """``fn(*args)`` on one of this lane's threads, not awaited (cleanup a cancelled
        caller cannot wait for)."""
        self.executor().submit(fn, *args)

    @property
    def running(self) -> bool:
        """Whether the lane has threads now (made on first use, gone after :meth:`shutdown`)."""
        return self._pool is not None

    def owns_current_thread(self) -> bool:
        """Whether the calling thread is one of this lane's."""
        return threading.current_thread().name.startswith(self.name)

    def shutdown(self) -> None:
        """Stop the threads without waiting; calls queued and not started yet are dropped
        unless the lane keeps them (``keep_queued``)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=not self.keep_queued)


_LANES: list[ThreadLane] = []
"""Every lane made, in order (lanes are module-level objects that live as long as the process)."""
_REGISTRY_LOCK = threading.Lock()


def lanes() -> tuple[ThreadLane, ...]:
    """Every lane made so far."""
    with _REGISTRY_LOCK:
        return tuple(_LANES)


def shutdown_lanes() -> None:
    """Stop every lane's threads (server stop, after the live streams are finalized)."""
    for lane in lanes():
        lane.shutdown()


async def run_on(lane: ThreadLane, fn: Callable[..., T], *args: object) -> T:
    """Run ``fn(*args)`` on a thread of ``lane``, with fresh database connections.

    Not thread-sensitive on purpose: asgiref's thread-sensitive calls outside a request
    (Channels' consumers, ASGI middleware) all share one process-wide thread, where one
    slow query would hold every other caller. Connections the thread finds stale are
    closed before the call, and again after it (``CONN_MAX_AGE``).
    """
    from django.db import close_old_connections

    def call() -> T:
        close_old_connections()
        try:
            return fn(*args)
        finally:
            close_old_connections()

    return await lane.run(call)


@contextmanager
def refreshed_while(touch: Callable[[], object], every_s: float, name: str) -> Iterator[None]:
    """Call ``touch`` every ``every_s`` seconds on a thread of its own until the block
    ends (a row's heartbeat kept fresh while slow work runs).

    ``touch`` runs Django queries: a ``DatabaseError`` is logged and the next period
    tries again; the thread closes its database connection when it ends. The thread is
    this block's: stopped and joined when it ends.
    """
    from django.db import DatabaseError, connection

    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(every_s):
                try:
                    touch()
                except DatabaseError:
                    logger.exception("%s: could not refresh", name)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
