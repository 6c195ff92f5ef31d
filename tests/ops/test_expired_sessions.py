"""Expired sessions are removed a chunk at a time (``clearsessions`` and the server's own
sweep): a few statements however many rows, not the ORM's row-by-row delete, and each
expired login is told (``login_ended``: its sockets and listens end, see
tests/live/test_listen_ends_with_its_login.py). Each server process sweeps while it runs,
so the table does not grow for good."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from users import sessionstore
from users.logins import EndedLogin, login_ended
from users.sessionstore import SessionStore, SessionSweep

pytestmark = pytest.mark.django_db(transaction=True)


def make_sessions(expired: int, live: int) -> None:
    """``expired`` sessions that ended an hour ago and ``live`` ones, each of a user."""
    for i in range(expired + live):
        store = SessionStore()
        store["_auth_user_id"] = str(i + 1)
        store.set_expiry(-3600 if i < expired else 3600)
        store.create()


def test_clearsessions_removes_expired_rows_in_a_few_statements(monkeypatch) -> None:
    monkeypatch.setattr(sessionstore, "CHUNK", 20)
    make_sessions(expired=50, live=3)
    assert Session.objects.count() == 53
    with CaptureQueriesContext(connection) as queries:
        call_command("clearsessions")
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    # Three chunks of 20, 20 and 10: each read, deleted in one statement, and its logins
    # told (a query each for whose sockets are open and whose listens run).
    assert statements == ["SELECT", "DELETE", "SELECT", "SELECT"] * 3, statements
    assert Session.objects.count() == 3
    assert not Session.objects.filter(expire_date__lt=timezone.now()).exists()


def test_end_expired_counts_what_went_keeps_the_rest_and_tells_each_login() -> None:
    told: list[EndedLogin] = []

    def hear(sender: object, logins: list[EndedLogin], **kwargs: object) -> None:
        told.extend(logins)

    login_ended.connect(hear)
    try:
        make_sessions(expired=4, live=2)
        assert sessionstore.end_expired() == 4
        assert sorted(login.user_id for login in told) == [1, 2, 3, 4]
        assert sessionstore.end_expired() == 0
        # A cutoff past the live ones' expiry removes them too.
        assert sessionstore.end_expired(timezone.now() + timedelta(hours=2)) == 2
        assert len(told) == 6
    finally:
        login_ended.disconnect(hear)


def test_a_failing_receiver_does_not_stop_the_others(caplog) -> None:
    told: list[int] = []

    def broken(sender: object, logins: list[EndedLogin], **kwargs: object) -> None:
        raise RuntimeError("channel layer away")

    def hear(sender: object, logins: list[EndedLogin], **kwargs: object) -> None:
        told.extend(login.user_id for login in logins)

    login_ended.connect(broken)
    login_ended.connect(hear)
    try:
        make_sessions(expired=2, live=0)
        assert sessionstore.end_expired() == 2
    finally:
        login_ended.disconnect(broken)
        login_ended.disconnect(hear)
    assert sorted(told) == [1, 2]
    assert "could not end 2 expired logins, user ids 1,2" in caplog.text


async def test_a_server_sweep_removes_expired_sessions_while_it_runs(caplog) -> None:
    caplog.set_level(logging.INFO, logger="users.sessionstore")
    await sync_to_async(make_sessions, thread_sensitive=False)(3, 1)
    rows = Session.objects.count
    sweep = SessionSweep(interval_s=0.05, first_s=0.0)
    sweep.start()
    try:
        for _ in range(100):
            if await sync_to_async(rows, thread_sensitive=False)() == 1:
                break
            await asyncio.sleep(0.05)
        assert await sync_to_async(rows, thread_sensitive=False)() == 1
        # Sessions that expire later go at a later sweep.
        await sync_to_async(make_sessions, thread_sensitive=False)(2, 0)
        for _ in range(100):
            if await sync_to_async(rows, thread_sensitive=False)() == 1:
                break
            await asyncio.sleep(0.05)
        assert await sync_to_async(rows, thread_sensitive=False)() == 1
    finally:
        await sweep.stop()
    assert not sweep.running
    assert "removed 3 expired sessions" in caplog.text


async def test_a_failed_sweep_is_logged_and_tried_again(monkeypatch, caplog) -> None:
    calls: list[int] = []

    def flaky(now: object = None) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return 0

    monkeypatch.setattr(sessionstore, "end_expired", flaky)
    sweep = SessionSweep(interval_s=0.02, first_s=0.0)
    sweep.start()
    try:
        for _ in range(200):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await sweep.stop()
    assert len(calls) >= 2
    assert "could not remove expired sessions" in caplog.text
