"""``?limit=`` and ``?before=`` take ASCII digits only: "²" had been a 500 (``isdigit()``
says yes, ``int()`` refuses), other scripts' digits and a trailing newline were read."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("limit", ["²", "①", "٣", "3\n", " 3", "+3", "3.0"])
def test_a_limit_that_is_not_ascii_digits_is_400(as_alice, limit):
    resp = as_alice.get("/api/recordings/", data={"limit": limit})
    assert resp.status_code == 400, resp.content
    assert "limit must be an integer" in resp.json()["error"]


@pytest.mark.parametrize("before", ["١٢٣-4", "123-4\n", "123-٤", " 123-4"])
def test_a_cursor_that_is_not_ascii_digits_is_400(as_alice, before):
    resp = as_alice.get("/api/recordings/", data={"before": before})
    assert resp.status_code == 400, resp.content
    assert "before must be" in resp.json()["error"]


def test_ascii_values_still_work(as_alice, rec):
    resp = as_alice.get("/api/recordings/", data={"limit": "3", "before": "1700000000000000-5"})
    assert resp.status_code == 200, resp.content
    assert resp.json()["recordings"] == []  # the cursor is read: nothing before 2023
    resp = as_alice.get("/api/recordings/", data={"limit": "1"})
    assert [r["id"] for r in resp.json()["recordings"]] == [rec.pk]
