"""Sessions in the database (Django's ``db`` engine): expired ones removed by a sweep while
the server runs, their logins ended as they go, and session keys checked for what this
server makes before any query.

A login whose session expires has ended, but what it opened goes on unless told: its
presence sockets (events keep coming to a cookie that now gets 401) and its live listens.
:func:`end_expired` removes expired rows a chunk at a time and sends
:data:`users.logins.login_ended` for each that held a login, as a deleted live row does.
It is also ``clearsessions`` (:meth:`SessionStore.clear_expired`). Django's own deletes
through the ORM, which, with the ``post_delete`` receiver on the session model, loads
and signals every row one by one and tells no one of an expired login.

Django leaves the removal to a cron job running ``clearsessions``, which a self-hosted
server tends not to have: the table grew with every login for good, and expired logins
kept their sockets and listens. Each server process therefore sweeps every
:data:`SWEEP_INTERVAL_S` (:data:`SESSION_SWEEP`, started and stopped by the ASGI
lifespan), so an expired login ends within that. Several processes sweeping at once is
harmless: a login is told by a process whose ``DELETE`` removed rows of its chunk, at
worst twice (ending a login is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.contrib.sessions.backends.db import SessionStore as DbSessionStore
from django.db import connections, router
from django.utils import timezone

from fc25_denoise.periodic import Periodic
from fc25_denoise.threads import ThreadLane, run_on

from .logins import EndedLogin, login_ended, session_login

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 60.0
"""How often a server process removes expired sessions (and so the longest an expired
login's sockets and listens outlive it): one indexed ``SELECT`` when nothing expired."""
FIRST_SWEEP_S = 10.0
"""The first sweep after a start."""
CHUNK = 1000
"""Expired rows read, deleted and told per round (a backlog is not held in memory whole)."""

SESSION_SWEEPS = ThreadLane("session-sweep", 1)
"""The sweep's statements (a large backlog takes a while; no other lane waits for it)."""


def end_expired(now: datetime | None = None) -> int:
    """Delete every session that expired before ``now`` (default: now), :data:`CHUNK` rows
    at a time, and send ``login_ended`` for each deleted row that held a login (after its
    chunk is deleted, so a socket's recheck finds it gone). Returns how many rows went.

    A receiver's failure is logged and the others still run. Raises the database's errors
    (rows not deleted yet stay for the next sweep).
    """
    model = SessionStore.get_model_class()
    cutoff = now or timezone.now()
    connection = connections[router.db_for_write(model) or "default"]
    # SQLite takes 999 parameters in a statement (older builds): the keys and the cutoff.
    chunk = min(CHUNK, (connection.features.max_query_params or CHUNK + 1) - 1)
    removed = 0
    while True:
        rows = list(model.objects.filter(expire_date__lt=cutoff).order_by()[:chunk])
        if not rows:
            return removed
        keys = [row.session_key for row in rows]
        gone = _delete_keys(keys, cutoff)
        removed += gone
        if gone < len(rows):  # a row saved meanwhile (a later expiry): its login goes on
            kept = set(model.objects.filter(session_key__in=keys).values_list("pk", flat=True))
            rows = [row for row in rows if row.session_key not in kept]
        logins = [login for row in rows if (login := session_login(row)) is not None]
        if logins:
            _tell(logins)
        if len(keys) < chunk:
            return removed


def _delete_keys(keys: Sequence[str], cutoff: datetime) -> int:
    """``DELETE`` these expired rows in one statement (no ``post_delete``); how many went."""
    model = SessionStore.get_model_class()
    connection = connections[router.db_for_write(model) or "default"]
    quote = connection.ops.quote_name
    key_column = model._meta.get_field("session_key").column or "session_key"
    expire_column = model._meta.get_field("expire_date").column or "expire_date"
    marks = ", ".join(["%s"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(key_column)} IN ({marks}) AND {quote(expire_column)} < %s",
            [*keys, connection.ops.adapt_datetimefield_value(cutoff)],
        )
        return max(cursor.rowcount, 0)


def _tell(logins: list[EndedLogin]) -> None:
    for receiver, result in login_ended.send_robust(sender=EndedLogin, logins=logins):
        if isinstance(result, Exception):
            logger.error(
                "could not end %d expired logins, user ids %s (%s)",
                len(logins),
                ",".join(str(login.user_id) for login in logins[:20]),
                getattr(receiver, "__qualname__", receiver),
                exc_info=result,
            )


SESSION_KEY_MAX = 40
"""The session table's key column (``varchar(40)``); Django makes keys of 32."""


class SessionStore(DbSessionStore):
    """Django's database sessions; :meth:`clear_expired` and the key check differ."""

    def _validate_session_key(self, key: str | None) -> bool:
        """A key this server could have made: 8 to 40 ASCII letters and digits.

        Django only asks for 8 characters, so a cookie holding a NUL (``"\\000"`` in a
        quoted cookie) reached the query, which PostgreSQL refuses with an error: a 500
        on every route and a failed socket handshake. Anything else is no session.
        """
        return (
            key is not None and 8 <= len(key) <= SESSION_KEY_MAX and key.isascii() and key.isalnum()
        )

    @classmethod
    def clear_expired(cls) -> None:
        """``clearsessions``: :func:`end_expired`."""
        end_expired()


class SessionSweep:
    """One task: :func:`end_expired` after ``first_s``, then every ``interval_s`` (a
    :class:`~fc25_denoise.periodic.Periodic` named ``session-sweep``).

    A failed sweep is logged and tried again an interval later. Owns its task:
    :meth:`stop` cancels it and waits for it.
    """

    def __init__(self, interval_s: float = SWEEP_INTERVAL_S, first_s: float = FIRST_SWEEP_S):
        self._timer = Periodic(
            "session-sweep",
            self._round,
            interval_s,
            first=first_s,
            failed="could not remove expired sessions",
        )

    @property
    def running(self) -> bool:
        """Whether the task runs (started and not stopped)."""
        return self._timer.running

    def start(self) -> None:
        """Start the task on the running loop (idempotent)."""
        self._timer.start()

    async def stop(self) -> None:
        """Cancel the task and wait for it (a round running on the lane finishes there)."""
        await self._timer.stop()

    async def _round(self) -> None:
        removed = await run_on(SESSION_SWEEPS, end_expired)
        if removed:
            logger.info("removed %d expired sessions", removed)


SESSION_SWEEP = SessionSweep()
"""This process's sweep (the ASGI lifespan starts and stops it)."""
