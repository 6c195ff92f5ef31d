"""Going live fails cleanly: the server's 503 (noise removal unavailable) and 429 (stream
limit reached) are shown to the user, and the panel returns to its "Go live" state.

A dedicated server runs with FC25_MAX_LIVE_STREAMS=1 and a default model that cannot be
loaded, so both answers come from the real backend (no interception)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import fresh_database, run_server
from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .live_helpers import call_api, go_live

pytestmark = pytest.mark.browser

SR = 48_000
# The default model, whose files cannot be unpacked: it will not load.
LIMITED_ENV = {"FC25_MAX_LIVE_STREAMS": "1", "FC25_MODEL_CACHE": "/dev/null/models"}


@pytest.fixture(scope="module")
def limited_server_url() -> Iterator[str]:
    with fresh_database() as database, run_server(database, LIMITED_ENV, "limited") as url:
        yield url


def new_user(browser: Browser, base: str, prefix: str) -> Page:
    ctx = new_context(browser, mic_origin=base)
    page = ctx.new_page()
    register(page, base, unique_name(prefix))
    return page


def click_go_live_expecting(page: Page, status: int) -> str:
    """Click "Go live"; the offer is answered with ``status``; returns the server's error."""
    with page.expect_response(lambda r: r.url.endswith("/api/webrtc/offer/")) as info:
        by_testid(page, "go-live").click()
    assert info.value.status == status, info.value.text()
    return info.value.json()["error"]


def assert_back_to_go_live(page: Page) -> None:
    go = by_testid(page, "go-live")
    expect(go).to_be_visible()
    expect(go).to_be_enabled()
    expect(go).to_have_text("Go live")
    expect(by_testid(page, "stop-live")).to_be_hidden()
    expect(by_testid(page, "broadcast-live-badge")).to_be_hidden()
    expect(page.locator("#broadcast-panel")).to_have_attribute("data-live", "false")


def test_503_and_429_are_shown_and_the_panel_recovers(
    limited_server_url: str, fake_mic_browser: Browser
) -> None:
    base = limited_server_url
    alice = new_user(fake_mic_browser, base, "alice")
    bob = new_user(fake_mic_browser, base, "bob")
    try:
        bob_errors = collect_errors(bob)
        error_line = by_testid(bob, "broadcast-error")
        expect(error_line).to_have_attribute("role", "alert")

        # 503: the server's default model cannot be loaded.
        message = click_go_live_expecting(bob, 503)
        expect(error_line).to_contain_text(message)
        expect(error_line).to_be_visible()
        assert_back_to_go_live(bob)
        expect(by_testid(bob, "elapsed")).to_have_text("0:00")

        # 429: Alice (with a working model) takes the server's only live slot.
        for page in (alice, bob):
            call_api(page, "PATCH", "/api/streams/settings/", {"model": "identity"})
        go_live(alice)
        message = click_go_live_expecting(bob, 429)
        expect(error_line).to_contain_text(message)
        expect(error_line).to_contain_text("try again later", ignore_case=True)
        assert_back_to_go_live(bob)
        expect(by_testid(bob, "elapsed")).to_have_text("0:00")

        # Once the slot is free, Bob goes live and the old error is gone.
        by_testid(alice, "stop-live").click()
        expect(by_testid(alice, "go-live")).to_be_visible()
        go_live(bob)
        expect(error_line).to_be_empty()
        by_testid(bob, "stop-live").click()
        assert_back_to_go_live(bob)
        assert not [e for e in bob_errors if e.startswith("uncaught")], bob_errors
    finally:
        alice.context.close()
        bob.context.close()
