"""``manage.py runserver`` serves the ASGI app with Uvicorn (WebSockets, lifespan), not WSGI."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fc25_denoise.management.commands.runserver import (
    GRACEFUL_SHUTDOWN_S,
    WS_MAX_BYTES,
    parse_addrport,
)


def test_runserver_runs_the_asgi_app_with_lifespan(monkeypatch):
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append((app, kw)))
    call_command("runserver", "0.0.0.0:8123", "--noreload")
    [(app, options)] = calls
    assert app == "fc25_denoise.asgi:application"
    assert options["host"] == "0.0.0.0" and options["port"] == 8123
    assert options["lifespan"] == "on" and options["reload"] is False
    assert options["ws_max_size"] == WS_MAX_BYTES  # not Uvicorn's 16 MiB
    assert options["timeout_graceful_shutdown"] == GRACEFUL_SHUTDOWN_S  # not for ever


def test_runserver_reloads_by_default_on_loopback_8000(monkeypatch):
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append(kw))
    call_command("runserver")
    assert calls[0]["host"] == "127.0.0.1" and calls[0]["port"] == 8000 and calls[0]["reload"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8001", ("127.0.0.1", 8001)),
        ("[::1]:9000", ("::1", 9000)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_addrport_forms(value, expected):
    assert parse_addrport(value) == expected


def test_bad_addrport_is_refused():
    with pytest.raises(CommandError):
        parse_addrport("nope:port")
