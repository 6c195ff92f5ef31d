"""Main page: while the stop request runs (the server saves the recording before it frees
the stream), "Go live" stays disabled; once it answered, going live again just works.

Also: the old connection's late state changes cannot end the new stream."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Route, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .live_helpers import call_api, go_live, wait_for_server_audio

pytestmark = pytest.mark.browser

HOLD_MS = 3_000

# Every RTCPeerConnection the page makes, in order (init script, before any page code).
TRACK_PEERS_JS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__peers.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""

# The first (stopped) stream's connection reports "failed", late.
OLD_PEER_FAILS_JS = """() => {
  const old = window.__peers[0];
  Object.defineProperty(old, "connectionState", { get: () => "failed" });
  old.dispatchEvent(new Event("connectionstatechange"));
  return window.__peers.length;
}"""


def test_go_live_waits_for_the_stop(live_server_url: str, fake_mic_browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(fake_mic_browser, mic_origin=base)
    ctx.add_init_script(TRACK_PEERS_JS)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("alice"))
        call_api(page, "PATCH", "/api/streams/settings/", {"model": "identity"})
        go_live(page)
        wait_for_server_audio(page)  # the stop below must have audio to save

        held: list[Route] = []
        # The stop request is held; it is sent on below, after HOLD_MS.
        page.route("**/api/streams/stop/", lambda route: held.append(route))
        go = by_testid(page, "go-live")
        by_testid(page, "stop-live").click()
        expect(go).to_be_visible()
        expect(go).to_be_disabled()
        expect(go).to_have_text("Saving…")
        page.wait_for_timeout(HOLD_MS)
        assert len(held) == 1
        expect(go).to_be_disabled()

        with page.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as stop:
            held[0].continue_()
        assert stop.value.status == 200, stop.value.text()
        page.unroute("**/api/streams/stop/")
        expect(go).to_be_enabled()
        expect(go).to_have_text("Go live")
        expect(by_testid(page, "last-recording")).to_be_visible()

        # The old peer connection reporting "failed" late must not end the new stream.
        go_live(page)
        assert page.evaluate(OLD_PEER_FAILS_JS) >= 2  # the new stream has its own
        page.wait_for_timeout(1_000)
        expect(page.locator("#broadcast-panel")).to_have_attribute("data-live", "true")
        expect(by_testid(page, "broadcast-error")).to_be_empty()
        by_testid(page, "stop-live").click()
        expect(go).to_be_enabled()
        assert not [e for e in errors if e.startswith("uncaught")], errors
    finally:
        ctx.close()
