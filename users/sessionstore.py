"""Sessions in the database (Django's ``db`` engine), with expired rows removed in one
statement, and a sweep that removes them while the server runs.

Django's own ``clear_expired`` deletes through the ORM. With a ``post_delete`` receiver on
the session model (:mod:`users.signals`: a deleted live session closes its login's
sockets) the ORM loads every expired row to send it the signal, one by one; an expired
login has no open sockets to tell (:func:`users.logins.deleted_session_login` skips them),
so here they go in one ``DELETE``.

Django leaves the removal to a cron job running ``clearsessions``, which a self-hosted
server tends not to have, and the table then grows with every login for good; each
server process therefore sweeps every :data:`SWEEP_INTERVAL_S` (:data:`SESSION_SWEEP`,
started and stopped by the ASGI lifespan). Several processes sweeping at once is
harmless: the statement is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.db import connections, router
from django.utils import timezone

from fc25_denoise.threads import ThreadLane, run_on

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 3600.0
"""How often a server process removes expired sessions."""
FIRST_SWEEP_S = 60.0
"""The first sweep after a start: soon, since a server restarted often may never run an hour."""

SESSION_SWEEPS = ThreadLane("session-sweep", 1)
"""The sweep's one statement (a large table takes a while; no other lane waits for it)."""


def delete_expired(now: datetime | None = None) -> int:
    """Delete every session that expired before ``now`` (default: now) in one statement;
    returns how many went. Sends no ``post_delete``. Raises the database's errors."""
    model = SessionStore.get_model_class()
    connection = connections[router.db_for_write(model) or "default"]
    quote = connection.ops.quote_name
    expire_field = model._meta.get_field("expire_date")
    expire_column = expire_field.column or expire_field.name
    cutoff = connection.ops.adapt_datetimefield_value(now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(expire_column)} < %s",
            [cutoff],
        )
        return max(cursor.rowcount, 0)


class SessionStore(DbSessionStore):
    """Django's database sessions; only :meth:`clear_expired` differs."""

    @classmethod
    def clear_expired(cls) -> None:
        """``clearsessions``: :func:`delete_expired`."""
        delete_expired()


class SessionSweep:
    """One task: :func:`delete_expired` after ``first_s``, then every ``interval_s``.

    A failed sweep is logged and tried again an interval later. Owns its task:
    :meth:`stop` cancels it and waits for it.
    """

    def __init__(self, interval_s: float = SWEEP_INTERVAL_S, first_s: float = FIRST_SWEEP_S):
        self.interval_s = interval_s
        self.first_s = first_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the task runs (started and not stopped)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the task on the running loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="session-sweep")

    async def stop(self) -> None:
        """Cancel the task and wait for it (a statement running on the lane finishes there)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await asyncio.sleep(self.first_s)
        while True:
            try:
                removed = await run_on(SESSION_SWEEPS, delete_expired)
            except Exception:
                logger.exception("could not remove expired sessions")
            else:
                if removed:
                    logger.info("removed %d expired sessions", removed)
            await asyncio.sleep(self.interval_s)


SESSION_SWEEP = SessionSweep()
"""This process's sweep (the ASGI lifespan starts and stops it)."""
