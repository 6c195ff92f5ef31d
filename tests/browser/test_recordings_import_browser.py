"""Recordings page import form: a non-audio file (400), a too-large file and a full quota
(413) are refused with clear messages; an audio file is uploaded (multipart with the CSRF
token), listed at once as processing, then becomes ready.

A dedicated server runs with a 1 MB upload limit and a 1 MB storage quota."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import fresh_database, run_server
from .helpers import (
    by_testid,
    collect_errors,
    new_context,
    register,
    unique_name,
    wait_live,
)
from .recording_helpers import READY_TIMEOUT_MS, tones_and_noise_wav

pytestmark = pytest.mark.browser

SMALL_ENV = {"FC25_UPLOAD_MAX_MB": "1", "FC25_RECORDINGS_QUOTA_MB": "1"}


@pytest.fixture(scope="module")
def small_server_url() -> Iterator[str]:
    with fresh_database() as database, run_server(database, SMALL_ENV, "small") as url:
        yield url


def upload(page: Page, name: str, data: bytes, title: str = "") -> tuple[int, dict]:
    """Choose ``data`` as the file, submit the form; the server's status and answer."""
    by_testid(page, "import-file").set_input_files(
        files=[{"name": name, "mimeType": "audio/wav", "buffer": data}]
    )
    by_testid(page, "import-title").fill(title)
    with page.expect_response(lambda r: r.url.endswith("/api/recordings/import/")) as info:
        by_testid(page, "import-submit").click()
    return info.value.status, info.value.json()


def expect_refused(page: Page, form_error: Locator, text: str) -> None:
    expect(form_error).to_be_visible()
    expect(form_error).to_contain_text("Import failed")
    expect(form_error).to_contain_text(text)
    expect(by_testid(page, "import-file")).to_have_attribute("aria-invalid", "true")
    expect(by_testid(page, "import-submit")).to_be_enabled()


def test_import_form_errors_and_progress(small_server_url: str, browser: Browser) -> None:
    base = small_server_url
    ctx = new_context(browser, 1280, 900)
    try:
        page = ctx.new_page()
        page.goto(f"{base}/recordings/")  # the page needs a login
        page.wait_for_url(f"{base}/login/?next=/recordings/")
        register(page, base, unique_name("dana"))
        by_testid(page, "nav-recordings").click()
        page.wait_for_url(f"{base}/recordings/")
        wait_live(page)
        expect(by_testid(page, "nav-recordings")).to_have_attribute("aria-current", "page")
        expect(by_testid(page, "recordings-empty")).to_be_visible()
        expect(by_testid(page, "storage-text")).to_have_text("Your storage: 0 bytes of 1.0 MB")
        errors = collect_errors(page)
        form_error = by_testid(page, "import-error")
        expect(form_error).to_have_attribute("role", "alert")
        rows = by_testid(page, "recording-row")

        # Not audio: 400.
        status, answer = upload(page, "notes.wav", b"not audio at all")
        assert status == 400, answer
        expect_refused(page, form_error, answer["error"])
        # Over the upload limit: refused before it is sent (the server would say 413).
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if "/import/" in r.url else None)
        by_testid(page, "import-file").set_input_files(
            files=[
                {"name": "long.wav", "mimeType": "audio/wav", "buffer": tones_and_noise_wav(12.0)}
            ]
        )
        by_testid(page, "import-submit").click()
        expect(form_error).to_contain_text("larger than the 1 MB limit")
        expect(by_testid(page, "import-file")).to_have_attribute("aria-invalid", "true")
        assert sent == []
        expect(rows).to_have_count(0)

        # A real file: 202, listed at once as processing, then ready (live job events).
        status, created = upload(page, "tones.wav", tones_and_noise_wav(5.0), "Imported tones")
        assert status == 202, created
        created = created["recording"]
        assert created["status"] == "processing" and created["title"] == "Imported tones"
        expect(form_error).to_be_hidden()
        expect(by_testid(page, "import-file")).not_to_have_attribute("aria-invalid", "true")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Imported tones")
        expect(rows.first).to_have_attribute("data-recording-id", str(created["id"]))
        assert page.url.endswith(f"/recordings/#{created['id']}")
        panel = by_testid(page, "player-panel")
        expect(panel).to_be_visible()
        expect(panel).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
        expect(rows.first).to_have_attribute("data-status", "ready")
        expect(by_testid(page, "job-status")).to_be_hidden()
        expect(rows.first).to_contain_text("0:05")
        expect(by_testid(page, "player-audio")).to_be_visible()
        expect(by_testid(page, "storage-text")).not_to_contain_text("0 bytes")

        # The same again does not fit in the 1 MB quota: 413, said so.
        status, answer = upload(page, "again.wav", tones_and_noise_wav(5.0, seed=7))
        assert status == 413, answer
        expect_refused(page, form_error, "quota")
        expect(rows).to_have_count(1)
        # Each refusal logs one "Failed to load resource" line; nothing else may fail.
        assert all("Failed to load resource" in e for e in errors), errors
    finally:
        ctx.close()
