"""A periodic task survives a failed round, ends when a round says so, and its owner's
stop cancels it and waits for it."""

import asyncio
import logging

import pytest

from fc25_denoise.periodic import Periodic


async def test_failed_round_is_logged_and_the_next_one_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds: list[int] = []

    async def round() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("first round broke")

    timer = Periodic("tick", round, 0.01, first=0.0, failed="the tick failed")
    with caplog.at_level(logging.ERROR, logger="fc25_denoise.periodic"):
        timer.start()
        timer.start()  # idempotent: still one task
        while len(rounds) < 3:
            await asyncio.sleep(0.01)
        await timer.stop()
    assert not timer.running
    assert [r.getMessage() for r in caplog.records] == ["the tick failed"]
    assert caplog.records[0].exc_info is not None
    count = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) == count  # stopped: no round after stop
    await timer.stop()  # idempotent


async def test_round_returning_false_ends_the_task_and_start_restarts_it() -> None:
    left = [2]

    async def round() -> bool:
        left[0] -= 1
        return left[0] > 0

    timer = Periodic("countdown", round, 0.01, first=0.0)
    timer.start()
    while timer.running:
        await asyncio.sleep(0.01)
    assert left == [0]
    left[0] = 1
    timer.start()
    while timer.running:
        await asyncio.sleep(0.01)
    assert left == [0]


async def test_period_read_at_each_wait() -> None:
    periods = iter([0.0, 0.0, 3600.0])
    rounds: list[None] = []

    async def round() -> None:
        rounds.append(None)

    timer = Periodic("slowing", round, lambda: next(periods))
    timer.start()
    await asyncio.sleep(0.05)
    assert len(rounds) == 2  # the third wait is an hour
    await timer.stop()
    assert not timer.running


async def test_failures_in_a_row_are_logged_once_then_seldom(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [True]
    rounds: list[None] = []

    async def round() -> None:
        rounds.append(None)
        if failing[0]:
            raise RuntimeError("still broken")

    timer = Periodic("flaky", round, 0.005, first=0.0)
    with caplog.at_level(logging.INFO, logger="fc25_denoise.periodic"):
        timer.start()
        while len(rounds) < 20:
            await asyncio.sleep(0.005)
        failing[0] = False
        count = len(rounds)
        while len(rounds) < count + 2:
            await asyncio.sleep(0.005)
        await timer.stop()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["flaky: a round failed"]  # not 20 of them
    assert any(
        r.levelno == logging.INFO and "flaky: a round succeeded after" in r.getMessage()
        for r in caplog.records
    )

    # Past the quiet period, a failure still failing is logged again, with its count.
    monkeypatch.setattr("fc25_denoise.periodic.FAILURES_LOGGED_EVERY_S", 0.0)
    caplog.clear()
    failing[0] = True
    rounds.clear()
    with caplog.at_level(logging.ERROR, logger="fc25_denoise.periodic"):
        timer.start()
        while len(rounds) < 3:
            await asyncio.sleep(0.005)
        await timer.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[:3] == [
        "flaky: a round failed",
        "flaky: a round failed (2 in a row)",
        "flaky: a round failed (3 in a row)",
    ]
