"""Register and login forms: per-field server errors, safe `next` redirects, logout."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from .helpers import (
    PASSWORD,
    by_testid,
    collect_errors,
    new_context,
    register,
    unique_name,
)

pytestmark = pytest.mark.browser


def test_forms_errors_next_and_logout(live_server_url: str, browser) -> None:
    base = live_server_url
    name = unique_name("carol")
    ctx = new_context(browser, 390, 844)
    try:
        page = ctx.new_page()
        errors = collect_errors(page)
        # The main page needs a login and remembers where to come back to.
        page.goto(f"{base}/")
        page.wait_for_url(f"{base}/login/?next=/")

        # Register: the server's password validators answer per field.
        page.goto(f"{base}/register/")
        by_testid(page, "username-input").fill(name)
        by_testid(page, "password-input").fill("123")
        by_testid(page, "password2-input").fill("123")
        by_testid(page, "submit-button").click()
        expect(by_testid(page, "password-error")).to_be_visible()
        expect(by_testid(page, "password-error")).to_contain_text("too short")
        expect(by_testid(page, "password-input")).to_have_attribute("aria-invalid", "true")
        expect(by_testid(page, "submit-button")).to_be_enabled()
        if os.environ.get("FC25_SCREENSHOTS"):
            page.screenshot(path="/tmp/fc25_register.png", full_page=True)

        register(page, base, name)
        by_testid(page, "logout-button").click()
        page.wait_for_url(f"{base}/login/")

        # A taken name is reported on the user name field (409).
        page.goto(f"{base}/register/")
        by_testid(page, "username-input").fill(name.upper())
        by_testid(page, "password-input").fill(PASSWORD)
        by_testid(page, "password2-input").fill(PASSWORD)
        by_testid(page, "submit-button").click()
        expect(by_testid(page, "username-error")).to_contain_text("taken")

        # Wrong password: a form-level message; no redirect.
        page.goto(f"{base}/login/?next=https://evil.example/")
        by_testid(page, "username-input").fill(name)
        by_testid(page, "password-input").fill("wrong-password-123")
        by_testid(page, "submit-button").click()
        expect(by_testid(page, "form-error")).to_contain_text("Invalid")

        # Right password: an off-site `next` is ignored (home page instead).
        by_testid(page, "password-input").fill(PASSWORD)
        by_testid(page, "submit-button").click()
        page.wait_for_url(f"{base}/")

        # A same-site `next` is followed.
        by_testid(page, "logout-button").click()
        page.wait_for_url(f"{base}/login/")
        page.goto(f"{base}/login/?next=%2F%3Ffrom%3Dlogin")
        by_testid(page, "username-input").fill(name)
        by_testid(page, "password-input").fill(PASSWORD)
        by_testid(page, "submit-button").click()
        page.wait_for_url(f"{base}/?from=login")
        # 4xx answers the forms handle show up as "Failed to load resource"; nothing else may.
        assert [e for e in errors if "Failed to load resource" not in e] == [], errors
    finally:
        ctx.close()
