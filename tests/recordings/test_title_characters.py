"""A title is text a person reads: any script, emoji and 200 characters of them are kept;
control characters (C0/C1: newline, tab, terminal escapes), line separators and lone
surrogates are refused with 400, on rename and on import, and nothing changes. A lone
surrogate (valid JSON: ``"\\ud800"``) had reached the database and failed there (500); the
JSON parser now refuses it on every route (tests/api/test_lone_surrogate_json.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from recordings.models import StreamRecording

from .conftest import encoded, post_file, signal

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = ["\\ud800", "a\\udfffb", "bell\\u0007", "two\\nlines", "tab\\there", "\\u001b[31mred",
           "c1\\u0085x", "line\\u2028sep"]  # fmt: skip
"""JSON string bodies (escapes as a client would send them)."""


def _rename(client: Any, rec: StreamRecording, json_string: str) -> Any:
    return client.patch(f"/api/recordings/{rec.pk}/", raw=f'{{"title": "{json_string}"}}')


@pytest.mark.parametrize("json_string", REFUSED)
def test_rename_refuses_control_characters(rec: StreamRecording, as_alice: Any, json_string: str):
    resp = _rename(as_alice, rec, json_string)
    assert resp.status_code == 400, resp.content
    assert resp["Content-Type"] == "application/json"
    if "\\ud" in json_string:  # refused by the JSON parser, before any field is read
        assert "surrogate" in resp.json()["error"]
    else:
        assert "title" in resp.json()["errors"]
    rec.refresh_from_db()
    assert rec.title == "Test"


@pytest.mark.parametrize(
    "title", ["Café ☕", "Запись 1", "录音", "👩‍👩‍👧 family", "שלום\u200f!", "x" * 200, "é" * 200]
)
def test_rename_keeps_any_script(rec: StreamRecording, as_alice: Any, title: str):
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", {"title": f"  {title} "})
    assert resp.status_code == 200, resp.content
    assert resp.json()["title"] == title
    rec.refresh_from_db()
    assert rec.title == title


def test_rename_counts_characters_not_bytes(rec: StreamRecording, as_alice: Any):
    before = rec.title
    resp = as_alice.patch(f"/api/recordings/{rec.pk}/", {"title": "é" * 201})
    assert resp.status_code == 400
    rec.refresh_from_db()
    assert rec.title == before


@pytest.mark.parametrize("title", ["t\x1b[31mred", "two\nlines", "nul-less\x07bell"])
def test_import_refuses_control_characters_in_its_title(friends: Any, as_alice: Any, title: str):
    resp = post_file(as_alice, encoded(signal(0.5), "WAV"), "take.wav", title=title)
    assert resp.status_code == 400, resp.content
    assert "title" in json.loads(resp.content)["errors"]
    assert not StreamRecording.objects.exists()
