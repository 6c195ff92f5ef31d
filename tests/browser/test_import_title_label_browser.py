"""Recordings page: the import form's Title field has an accessible name (its label), and the
import section is named by its heading (no id is used twice)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from .helpers import by_testid, new_context, register, unique_name, wait_live

pytestmark = pytest.mark.browser


def test_import_title_input_is_labelled(live_server_url: str, browser: Browser) -> None:
    base = live_server_url
    ctx = new_context(browser)
    try:
        page = ctx.new_page()
        register(page, base, unique_name("alice"))
        page.goto(f"{base}/recordings/")
        wait_live(page)
        # "Title (optional)"; the rename form's "New title" does not start with it.
        title = page.get_by_label(re.compile(r"^Title\b"))
        expect(title).to_have_count(1)
        expect(title).to_have_attribute("data-testid", "import-title")
        title.fill("Birdsong")
        expect(by_testid(page, "import-title")).to_have_value("Birdsong")
        expect(page.get_by_role("region", name="Import a file")).to_have_attribute(
            "data-testid", "import-panel"
        )
        duplicates = page.evaluate(
            """() => {
              const ids = [...document.querySelectorAll("[id]")].map((el) => el.id);
              return ids.filter((id, i) => ids.indexOf(id) !== i);
            }"""
        )
        assert duplicates == [], duplicates
    finally:
        ctx.close()
