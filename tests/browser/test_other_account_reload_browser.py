"""A page whose presence socket was down while another tab logged in as someone else
reloads as that account when its socket comes back.

Its 4401 (the old login ended) never arrived, so the reconnected page had loaded the new
account's friends and recordings under the old one's name in the header, and its buttons
acted for the new account. Now each (re)opened socket checks who the browser is.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from .helpers import PASSWORD, by_testid, new_context, register, unique_name, wait_live
from .live_helpers import call_api

pytestmark = pytest.mark.browser


def test_a_reconnected_page_follows_the_account_logged_in_meanwhile(
    live_server_url: str, browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    setup = new_context(browser)
    register(setup.new_page(), base, bob_name)  # bob exists
    setup.close()

    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        cut = {"on": False}
        open_routes: list[WebSocketRoute] = []

        def presence(ws: WebSocketRoute) -> None:
            if cut["on"]:
                ws.close(code=1001, reason="network down")
                return
            ws.connect_to_server()
            open_routes.append(ws)

        page.route_web_socket("**/ws/presence/", presence)
        register(page, base, alice_name)
        expect(by_testid(page, "current-user")).to_have_text(alice_name)

        cut["on"] = True
        for ws in open_routes:  # the network drops: no close frame from the server arrives
            ws.close(code=1001, reason="network down")
        expect(by_testid(page, "connection-status")).not_to_have_attribute("data-state", "open")

        other = ctx.new_page()  # the same browser, another tab: log in as bob
        other.goto(f"{base}/api/auth/csrf/")  # a page of the site with no script of its own
        call_api(other, "POST", "/api/auth/logout/")
        call_api(other, "POST", "/api/auth/login/", {"username": bob_name, "password": PASSWORD})

        cut["on"] = False  # the network is back: the first page reconnects
        expect(by_testid(page, "current-user")).to_have_text(bob_name, timeout=40_000)
        wait_live(page)
    finally:
        ctx.close()
