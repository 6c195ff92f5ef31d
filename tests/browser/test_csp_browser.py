"""The real pages run under the Content-Security-Policy: no violation reported, the presence
WebSocket connects (connect-src), the pages' scripts and styles load."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .helpers import by_testid, collect_errors, new_context, register, unique_name

pytestmark = pytest.mark.browser


def test_pages_work_under_the_policy(live_server_url: str, browser) -> None:
    base = live_server_url
    ctx = new_context(browser, 1280, 800)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        violations: list[str] = []
        page.on(
            "console",
            lambda msg: (
                violations.append(msg.text) if "Content Security Policy" in msg.text else None
            ),
        )
        response = page.goto(f"{base}/login/")
        assert response is not None
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        register(page, base, unique_name("csp"))
        expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "open")
        # The stylesheet applied (a style-src violation would leave the header unstyled).
        display = page.eval_on_selector(".site-header", "el => getComputedStyle(el).display")
        assert display == "flex"
        page.goto(f"{base}/recordings/")
        expect(by_testid(page, "connection-status")).to_have_attribute("data-state", "open")
        assert violations == [], violations
        assert errors == [], errors
    finally:
        ctx.close()
