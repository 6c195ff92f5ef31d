"""A live stream ended by a full recordings quota: the page running it says so and links
to the recording it saved; another tab of the same account that is not live stays quiet.

The quota event named no stream, so every tab of the account showed its warning (an idle
one too), and the page that ran the stream dropped the later ``live_ended`` event (it had
already let go of the stream), so it said the recording was saved without linking to it,
and sent a stop the server answered 409.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from .conftest import fresh_database, run_server
from .helpers import by_testid, new_context, register, unique_name
from .live_helpers import call_api, go_live

pytestmark = pytest.mark.browser

QUOTA_ENV = {"FC25_RECORDINGS_QUOTA_MB": "1"}  # about 5 s of a live stream's two tracks


@pytest.fixture(scope="module")
def quota_server_url() -> Iterator[str]:
    with fresh_database() as database, run_server(database, QUOTA_ENV, "quota") as url:
        yield url


def test_the_live_tab_links_the_recording_and_an_idle_tab_stays_quiet(
    quota_server_url: str, fake_mic_browser: Browser
) -> None:
    base = quota_server_url
    ctx = new_context(fake_mic_browser, mic_origin=base)
    try:
        live_tab = ctx.new_page()
        register(live_tab, base, unique_name("alice"))
        call_api(live_tab, "PATCH", "/api/streams/settings/", {"model": "identity"})
        idle_tab = ctx.new_page()
        idle_tab.goto(f"{base}/")
        expect(by_testid(idle_tab, "go-live")).to_be_enabled()
        stops = []
        live_tab.on(
            "response", lambda r: stops.append(r.status) if "/api/streams/stop/" in r.url else None
        )

        go_live(live_tab)
        link = by_testid(live_tab, "last-recording-link")
        expect(link).to_be_visible(timeout=30_000)
        expect(link).to_have_attribute("href", re.compile(r"^/recordings/#\d+$"))
        expect(by_testid(live_tab, "broadcast-error")).to_contain_text("quota is full")
        expect(by_testid(live_tab, "stop-live")).to_be_hidden()
        assert stops == []  # the server ended it: nothing to stop
        expect(by_testid(idle_tab, "broadcast-error")).to_be_empty()
    finally:
        ctx.close()
