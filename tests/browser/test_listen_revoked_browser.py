"""Bob listens to Alice; Alice unfriends him: his page stops the audio and says why."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, collect_errors, unique_name
from .live_helpers import (
    call_api,
    go_live,
    setup_pair,
    start_listening,
)

pytestmark = pytest.mark.browser

SR = 48_000


def test_unfriended_listener_is_told_the_stream_is_gone(
    live_server_url: str, fake_mic_browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    contexts, alice, bob = setup_pair(fake_mic_browser, base, alice_name, bob_name)
    try:
        alice_errors, bob_errors = collect_errors(alice), collect_errors(bob)
        # No model download needed: Alice's stream passes audio through.
        call_api(alice, "PATCH", "/api/streams/settings/", {"model": "identity"})
        go_live(alice)
        start_listening(bob, base, alice_name)
        expect(by_testid(alice, "listener-count")).to_have_text("1", timeout=10_000)
        ended = by_testid(bob, "listen-ended")
        expect(ended).to_be_hidden()

        call_api(alice, "DELETE", f"/api/friends/{bob_name}/")

        expect(ended).to_be_visible(timeout=5_000)
        expect(ended).to_contain_text("no longer available")
        expect(ended).to_contain_text("no longer friends")
        expect(ended).to_have_attribute("data-reason", "not_friends")
        expect(by_testid(bob, "status")).to_contain_text("not friends")
        # The player stopped: no track left on the page, the audio element is cleared.
        bob.wait_for_function("() => window.__fc25ListenStream === null")
        assert bob.evaluate(
            "() => document.querySelector('[data-testid=listen-audio]').srcObject === null"
        )
        expect(by_testid(alice, "listener-count")).to_have_text("0", timeout=10_000)
        assert alice_errors == [], alice_errors
        assert bob_errors == [], bob_errors
    finally:
        for ctx in contexts:
            ctx.close()
