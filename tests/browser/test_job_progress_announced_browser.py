"""Recordings page: a job's progress is shown every percent, but screen readers are told
only its steps (waiting, cleaning, failed): the percent text is no live region, and the
page's announcer changes once per step, not twice a second with each progress event."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, WebSocketRoute, expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name
from .recording_helpers import import_through_api, open_recording, tones_and_noise_wav

pytestmark = pytest.mark.browser

# Every text the announcer and the percent line take, in order (a MutationObserver).
WATCH_JS = """() => {
  window.__said = [];
  window.__shown = [];
  const watch = (id, into) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    new MutationObserver(() => into.push(el.textContent)).observe(el, {
      childList: true, characterData: true, subtree: true,
    });
  };
  watch("job-announce", window.__said);
  watch("job-text", window.__shown);
}"""


def test_job_steps_are_announced_not_every_percent(live_server_url: str, browser: Browser):
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        register(page, base, unique_name("erin"))
        rec = import_through_api(ctx, base, tones_and_noise_wav(seconds=2.0), "Announced")

        sockets: list[WebSocketRoute] = []

        def presence(ws: WebSocketRoute) -> None:
            ws.connect_to_server()  # the real server, plus the events the test sends
            sockets.append(ws)

        page.route_web_socket("**/ws/presence/", presence)
        open_recording(page, base, rec["id"])
        expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "open")
        page.wait_for_load_state("networkidle")  # the list the socket's opening reloads

        # Not live regions: the percent line and the box around it.
        for testid in ("job-text", "job-status"):
            el = by_testid(page, testid)
            assert el.get_attribute("aria-live") in (None, "off"), testid
            assert el.get_attribute("role") is None, testid
        announcer = by_testid(page, "job-announce")
        assert announcer.get_attribute("aria-live") == "polite"
        page.evaluate(WATCH_JS)

        def job(status: str, progress: float, **more: str) -> None:
            event = {
                "type": "recording_job",
                "recording_id": rec["id"],
                "job": {"id": 9_999, "kind": "reclean", "status": status, "progress": progress}
                | more,
            }
            sockets[-1].send(json.dumps(event))

        job("queued", 0.0)
        expect(by_testid(page, "job-text")).to_have_text("Cleaning again: waiting to start…")
        for step in range(1, 10):
            job("running", step / 10)
            expect(by_testid(page, "job-text")).to_have_text(f"Cleaning again… {step * 10}%")
        expect(announcer).to_have_text("Cleaning again…")

        shown = page.evaluate("() => window.__shown")
        said = page.evaluate("() => window.__said")
        for step in range(1, 10):  # every percent is shown...
            assert f"Cleaning again… {step * 10}%" in shown, shown
        # ...and none is said: the announcer changes with the steps only (a reload of the
        # list in between may clear it once).
        assert not any("%" in text for text in said), said
        assert [t for t in said if t] in (
            ["Cleaning again: waiting to start…", "Cleaning again…"],
            ["Cleaning again: waiting to start…", "Cleaning again…", "Cleaning again…"],
        ), said
        assert errors == [], errors
    finally:
        ctx.close()
