"""One task on the running loop that does one thing again and again, and its shutdown.

The server's timers (the loop monitor, the expired-session sweep, the live access check,
the recording quota watch, each presence socket's group rejoin and login recheck) own a
:class:`Periodic`: it starts the task, sleeps the period between two rounds, logs a
failed round (:class:`FailureLog`) and goes on, and on :meth:`Periodic.stop` cancels the
task and waits for it. What a round does stays with its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from .ratelog import EventsLog

logger = logging.getLogger(__name__)

FAILURES_LOGGED_EVERY_S = 60.0
"""A round failing again and again is logged once, then at most this often (with the
count), not every period: a loop monitor failing every 0.5 s would flood the log."""


class FailureLog:
    """Failures of one repeated action, logged without flooding the log: the first of a
    run of failures with its traceback, then at most one line every
    :data:`FAILURES_LOGGED_EVERY_S` (read at each failure) with the run's count.
    :meth:`succeeded` ends the run. One log may serve many actors (every presence
    socket's recheck shares one): a database away then logs a line a minute, not one
    per actor per period."""

    def __init__(self, message: str, log: logging.Logger | None = None) -> None:
        """``message``: the line logged (a %-format taking :meth:`failed`'s ``args``)."""
        self._message = message
        self._log = log or logger
        self._run = EventsLog(FAILURES_LOGGED_EVERY_S)

    def failed(self, *args: object) -> None:
        """Count the failure in flight (call it in an ``except`` block) and log it unless
        one of the run was logged less than :data:`FAILURES_LOGGED_EVERY_S` ago."""
        self._run.every_s = FAILURES_LOGGED_EVERY_S  # read now: an operator's or a test's
        due = self._run.add()
        if due is None:
            return
        if due.since_s is None:
            self._log.exception(self._message, *args)
        else:
            self._log.exception(self._message + " (%d in a row)", *args, self._run.count)

    def succeeded(self) -> int:
        """End the run of failures; returns how many it had (0: none)."""
        return self._run.reset()


Round = Callable[[], Awaitable[object]]
"""One round. Returning ``False`` itself ends the task (the owner may :meth:`Periodic.start`
it again); anything else (None, a count), or raising (logged), keeps it going."""


class Periodic:
    """Runs ``round`` every ``period`` seconds on the running loop, as one task named
    ``name``. Owns the task: :meth:`start` is idempotent, :meth:`stop` cancels and waits.

    ``period`` and ``first`` (the wait before the first round; None: one period) may be
    callables, read at each wait, so a module constant patched by a test or an operator
    takes effect at the next wait. A round that raises is logged (``failed``, with the
    traceback; default: ``name`` and "a round failed") and the next one comes a period
    later: a timer never dies of one failure. Failures in a row are logged once and then
    at most every :data:`FAILURES_LOGGED_EVERY_S` with their count; the first round that
    succeeds after them says so.
    """

    def __init__(
        self,
        name: str,
        round: Round,
        period: float | Callable[[], float],
        first: float | Callable[[], float] | None = None,
        failed: str = "",
    ) -> None:
        self.name = name
        self._round = round
        self._period = period
        self._first = first
        self._task: asyncio.Task[None] | None = None
        self._failures = FailureLog(failed or f"{name}: a round failed")

    @property
    def running(self) -> bool:
        """Whether the task runs (started, not stopped or ended)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the task on the running loop unless it runs (raises RuntimeError with no
        running loop)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the task and wait for it to end (idempotent). A round waiting on a worker
        thread is cancelled at its await; the thread finishes its call on its own."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        first = self._period if self._first is None else self._first
        await asyncio.sleep(_seconds(first))
        while True:
            try:
                more = await self._round()
            except Exception:
                self._failures.failed()
            else:
                failed = self._failures.succeeded()
                if failed:
                    logger.info("%s: a round succeeded after %d failed", self.name, failed)
                if more is False:
                    return
            await asyncio.sleep(_seconds(self._period))


def _seconds(value: float | Callable[[], float]) -> float:
    return value() if callable(value) else value
