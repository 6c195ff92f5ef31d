"""Small page helpers shared by the browser tests (sync Playwright API)."""

from __future__ import annotations

import secrets

from playwright.sync_api import Browser, BrowserContext, Page, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PASSWORD = "quiet-river-lantern-42"
TIMEOUT_MS = 15_000  # generous: the machine is shared


def new_context(
    browser: Browser, width: int = 1280, height: int = 800, mic_origin: str | None = None
) -> BrowserContext:
    """A fresh context (own cookies) with the shared timeout; microphone granted to
    ``mic_origin`` if given. The caller closes it."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(TIMEOUT_MS)
    if mic_origin is not None:
        ctx.grant_permissions(["microphone"], origin=mic_origin)
    return ctx


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def by_testid(page: Page, testid: str, username: str | None = None):
    selector = f'[data-testid="{testid}"]'
    if username is not None:
        selector += f'[data-username="{username}"]'
    return page.locator(selector)


def register(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Create an account through the register form and land on the main page."""
    page.goto(f"{base_url}/register/")
    by_testid(page, "username-input").fill(username)
    by_testid(page, "password-input").fill(password)
    by_testid(page, "password2-input").fill(password)
    by_testid(page, "submit-button").click()
    page.wait_for_url(f"{base_url}/", timeout=TIMEOUT_MS)
    wait_live(page)


def wait_live(page: Page) -> None:
    """Wait until the presence socket is open (live updates flowing)."""
    expect(by_testid(page, "connection-status")).to_have_attribute(
        "data-state", "open", timeout=TIMEOUT_MS
    )


def collect_errors(page: Page) -> list[str]:
    """Record console errors and uncaught exceptions of ``page`` into the returned list."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors
