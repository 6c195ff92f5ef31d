"""A parallel burst of wrong passwords gets at most the limit checked: each attempt takes
its slot atomically before the password is checked."""

import threading

import pytest
from django.db import connections
from django.test import Client, override_settings


@pytest.mark.django_db(transaction=True)
@override_settings(LOGIN_RATE_LIMIT=5, LOGIN_CLIENT_LIMIT=100)
def test_parallel_burst_checks_at_most_the_limit():
    from tests.conftest import make_user

    make_user("alice")
    n = 30
    barrier = threading.Barrier(n)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        try:
            c = Client()
            barrier.wait()
            resp = c.post(
                "/api/auth/login/",
                '{"username": "alice", "password": "wrong-wrong-wrong"}',
                content_type="application/json",
                REMOTE_ADDR="203.0.113.5",
            )
            with lock:
                codes.append(resp.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(codes) == n
    assert codes.count(401) == 5  # checked (and wrong)
    assert codes.count(429) == n - 5  # refused before any check
