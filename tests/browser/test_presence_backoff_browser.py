"""The presence socket's reconnects (static/js/presence.js) back off while sockets keep
failing, even when each one is accepted first (a failing connect, a refused tab), and
start over only once a socket has worked; the server's error shows in the status area.

Each wait is a uniform draw up to the backoff ("full jitter"): tabs that lost the server
together come back spread over the whole window.

Playwright's fake clock drives the page's timers, a routed WebSocket stands in for the
server and the page's ``Math.random`` returns the numbers a test queues in
``window.__fc25Randoms``, then 0.5, so minutes of backoff take a few seconds and no assertion depends on real time
or chance."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, WebSocketRoute, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name

pytestmark = pytest.mark.browser

STEP_MS = 250
Answer = Callable[[WebSocketRoute], None]


class FakePresenceServer:
    """Takes the page's presence sockets; each is open (accepted) for the page until the
    test answers it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[WebSocketRoute] = []  # every socket the page opened, in order
        self._unanswered: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r"/ws/presence/$"), self._opened)

    def _opened(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        self._unanswered.append(ws)

    def run(self, ms: int, answer: Answer) -> None:
        """Move the page's clock ``ms`` forward; every socket the page opens meanwhile is
        answered with ``answer`` once the page has seen it open (the next step)."""
        for _ in range(ms // STEP_MS):
            self.page.clock.run_for(STEP_MS)
            while self._unanswered:
                answer(self._unanswered.pop(0))

    def run_until_opened(self, answer: Answer, limit_ms: int = 60_000) -> None:
        """Move the clock forward until the page opens its next socket, answered with
        ``answer``."""
        opened = len(self.sockets)
        for _ in range(limit_ms // STEP_MS):
            self.run(STEP_MS, answer)
            if len(self.sockets) > opened:
                return
        raise AssertionError(f"no new socket within {limit_ms} ms")


def fail(ws: WebSocketRoute) -> None:
    ws.close(code=1011)  # what the server does when a socket's connect() fails


def refuse_tab(ws: WebSocketRoute) -> None:
    ws.send(json.dumps({"type": "error", "error": "At most 8 open tabs."}))
    ws.close(code=4429)


def leave_open(ws: WebSocketRoute) -> None:
    pass


def greet(ws: WebSocketRoute) -> None:
    ws.send(json.dumps({"type": "pong"}))  # the server serves this socket


@pytest.fixture
def page_and_server(live_server_url: str, browser) -> tuple[Page, FakePresenceServer]:
    ctx: BrowserContext = new_context(browser)
    try:
        page = ctx.new_page()
        register(page, live_server_url, unique_name("backoff"))  # the real socket opens
        server = FakePresenceServer(page)
        page.add_init_script(
            "window.__fc25Randoms = [];"
            "Math.random = () => (window.__fc25Randoms.length ? window.__fc25Randoms.shift() : 0.5);"
        )
        page.clock.install()
        page.reload()  # the page again, its socket routed, its timers on the fake clock
        yield page, server
    finally:
        ctx.close()


def status_text(page: Page) -> str:
    return by_testid(page, "connection-status").locator(".conn-text").text_content() or ""


def test_sockets_accepted_then_closed_are_retried_with_growing_delays(page_and_server):
    page, server = page_and_server
    errors = collect_errors(page)
    server.run(60_000, fail)
    # Half of 1 s doubling to 30 s: waits of 0.5, 1, 2, 4, 8, 15, 15 s, not one a second.
    assert len(server.sockets) == 8, len(server.sockets)
    expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "closed")
    assert status_text(page) == "Server error. Reconnecting…"
    assert errors == [], errors


def test_a_refused_tab_shows_the_servers_error_and_retries_slowly(page_and_server):
    page, server = page_and_server
    page.evaluate("window.__fc25Randoms.push(0)")  # the smallest draw: half the maximum
    server.run(1_000, refuse_tab)
    assert len(server.sockets) == 1
    expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "closed")
    assert status_text(page) == "At most 8 open tabs. Reconnecting…"
    server.run(13_750, refuse_tab)  # a slot frees only when a tab closes: 15-30 s
    assert len(server.sockets) == 1
    server.run(1_000, refuse_tab)
    assert len(server.sockets) == 2


@pytest.mark.parametrize(
    ("works", "open_ms"), [(leave_open, 10_500), (greet, 500)], ids=["open 10 s", "server message"]
)
def test_a_socket_that_worked_starts_the_backoff_over(page_and_server, works, open_ms):
    page, server = page_and_server
    server.run(8_000, fail)  # a few failures: the next delay is 8 s or more
    failed = len(server.sockets)
    server.run_until_opened(works)
    server.run(open_ms, leave_open)
    assert len(server.sockets) == failed + 1
    expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "open")
    fail(server.sockets[-1])
    server.run(750, leave_open)  # back to 1 s: half of it
    assert len(server.sockets) == failed + 2
    assert status_text(page) == "Connected"


def test_reconnects_spread_over_the_whole_backoff(page_and_server):
    """The wait is anywhere from none to the whole backoff: with the smallest draw the page
    is back at once, with the largest only at the backoff's end (2 s after two failures)."""
    page, server = page_and_server
    page.evaluate("window.__fc25Randoms.push(0.01, 0.99)")
    server.run(500, fail)  # fails at 0.25 s; back 10 ms later, not after 0.75-1.25 s
    assert len(server.sockets) == 2
    server.run(1_750, fail)  # that one fails at 0.5 s; the wait is 0.99 of 2 s
    assert len(server.sockets) == 2
    server.run(500, fail)
    assert len(server.sockets) == 3
