"""Recordings page permissions: the owner renames and deletes through the UI, a friend
sees the recording without those controls, an outsider does not see it at all."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from .helpers import (
    by_testid,
    collect_errors,
    new_context,
    register,
    unique_name,
    wait_live,
)
from .live_helpers import befriend, call_api
from .recording_helpers import import_through_api, open_recording, tones_and_noise_wav

pytestmark = pytest.mark.browser


def row(page: Page, recording_id: int) -> Locator:
    return page.locator(f'[data-testid="recording-row"][data-recording-id="{recording_id}"]')


def new_page(browser: Browser, base: str, name: str) -> tuple[BrowserContext, Page]:
    ctx = new_context(browser, 1280, 900)
    page = ctx.new_page()
    register(page, base, name)
    return ctx, page


def test_owner_manages_friend_reads_outsider_sees_nothing(
    live_server_url: str, browser: Browser
) -> None:
    base = live_server_url
    alice_name, bob_name, carol_name = (unique_name(n) for n in ("alice", "bob", "carol"))
    contexts: list[BrowserContext] = []
    try:
        (ctx_a, alice), (ctx_b, bob), (ctx_c, carol) = (
            new_page(browser, base, name) for name in (alice_name, bob_name, carol_name)
        )
        contexts += [ctx_a, ctx_b, ctx_c]
        alice_errors, bob_errors = collect_errors(alice), collect_errors(bob)
        befriend(alice, bob, alice_name, bob_name)
        rec = import_through_api(ctx_a, base, tones_and_noise_wav(seconds=3.0), "Morning walk")
        rid = rec["id"]

        # --- Alice (owner): the recording is listed as hers; rename inline.
        open_recording(alice, base, rid)
        expect(row(alice, rid)).to_contain_text("Morning walk")
        expect(row(alice, rid).locator('[data-testid="recording-select"]')).to_have_attribute(
            "aria-current", "true"
        )
        expect(by_testid(alice, "owner-tools")).to_be_visible()
        by_testid(alice, "rename-button").click()
        title_input = by_testid(alice, "rename-input")
        expect(title_input).to_be_focused()
        expect(title_input).to_have_value("Morning walk")
        title_input.fill("Evening walk")
        with alice.expect_response(lambda r: r.url.endswith(f"/api/recordings/{rid}/")) as patch:
            title_input.press("Enter")
        assert patch.value.request.method == "PATCH" and patch.value.status == 200
        expect(by_testid(alice, "player-title")).to_have_text("Evening walk")
        expect(by_testid(alice, "rename-form")).to_be_hidden()
        expect(row(alice, rid)).to_contain_text("Evening walk")
        alice.reload()
        expect(by_testid(alice, "player-title")).to_have_text("Evening walk")

        # --- Bob (friend): sees it, can play and download, cannot rename or delete.
        open_recording(bob, base, rid)
        expect(row(bob, rid)).to_contain_text("Evening walk")
        expect(row(bob, rid)).to_contain_text(alice_name)
        expect(by_testid(bob, "player-audio")).to_be_visible()
        expect(by_testid(bob, "download-cleaned-wav")).to_have_attribute(
            "href", f"{rec['audio_url']}?download=1"
        )
        expect(by_testid(bob, "download-cleaned-flac")).to_have_attribute(
            "href", f"{rec['audio_url']}?download=1&format=flac"
        )
        # The unprocessed audio only once Alice shares it (share_raw, off by default).
        expect(by_testid(bob, "download-raw-wav")).to_be_hidden()
        call_api(alice, "PATCH", "/api/streams/settings/", {"share_raw": True})
        bob.reload()
        expect(by_testid(bob, "player-panel")).to_have_attribute("data-status", "ready")
        expect(by_testid(bob, "download-raw-wav")).to_have_attribute(
            "href", f"{rec['raw_audio_url']}&download=1"
        )
        expect(by_testid(bob, "owner-tools")).to_be_hidden()
        expect(by_testid(bob, "rename-button")).to_be_hidden()
        expect(by_testid(bob, "delete-button")).to_be_hidden()
        expect(by_testid(bob, "reclean-form")).to_be_hidden()

        # --- Carol (outsider): not in her list; a direct link tells her it is not shared.
        carol.goto(f"{base}/recordings/")
        wait_live(carol)
        expect(by_testid(carol, "recordings-empty")).to_be_visible()
        expect(row(carol, rid)).to_have_count(0)
        carol.goto(f"{base}/recordings/#{rid}")
        expect(by_testid(carol, "recordings-error")).to_contain_text("not shared with you")
        expect(by_testid(carol, "player-panel")).to_be_hidden()

        # --- Alice deletes it (after confirming); Bob's list no longer has it.
        if os.environ.get("FC25_SCREENSHOTS"):
            alice.screenshot(path="/tmp/fc25_recordings_owner.png", full_page=True)
            bob.screenshot(path="/tmp/fc25_recordings_friend.png", full_page=True)
        alice.once("dialog", lambda dialog: dialog.accept())
        with alice.expect_response(lambda r: r.url.endswith(f"/api/recordings/{rid}/")) as delete:
            by_testid(alice, "delete-button").click()
        assert delete.value.request.method == "DELETE" and delete.value.status == 204
        expect(row(alice, rid)).to_have_count(0)
        expect(by_testid(alice, "player-panel")).to_be_hidden()
        expect(by_testid(alice, "status")).to_contain_text("deleted")
        assert "#" not in alice.url
        bob.goto(f"{base}/recordings/")
        wait_live(bob)
        expect(by_testid(bob, "recordings-loading")).to_be_hidden()
        expect(row(bob, rid)).to_have_count(0)
        listed = call_api(bob, "GET", "/api/recordings/")["recordings"]
        assert all(r["id"] != rid for r in listed), listed
        assert not alice_errors, alice_errors
        assert not bob_errors, bob_errors
    finally:
        for ctx in contexts:
            ctx.close()
