"""User search matches names the way the site reads them (``users.models.username_key``):
case folded beyond ASCII and full-width letters as their plain forms, on every database
(SQLite's LIKE folds ASCII only; PostgreSQL's UPPER knows nothing of full width)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import make_user


def _names(client: Any, query: str) -> list[str]:
    resp = client.get("/api/users/search/?" + urlencode({"q": query}))
    assert resp.status_code == 200, resp.content
    return [r["username"] for r in resp.json()["results"]]


@pytest.mark.parametrize("query", ["\u00e4rger", "\u00c4RGER", "RGER", "\uff52\uff47\uff45\uff52"])
def test_non_ascii_and_full_width_queries_find_the_name(as_alice: Any, query: str) -> None:
    make_user("\u00c4rger")  # "Ärger"
    assert _names(as_alice, query) == ["\u00c4rger"]


def test_a_full_width_query_finds_an_ascii_name(as_alice: Any, bob: Any) -> None:
    assert _names(as_alice, "\uff22\uff2f") == ["bob"]  # "BO" in full-width letters


def test_sharp_s_matches_its_folded_form(as_alice: Any) -> None:
    make_user("Stra\u00dfe")  # "Straße": case folding makes it "strasse"
    assert _names(as_alice, "STRASSE") == ["Stra\u00dfe"]


def test_search_still_never_lists_yourself_nor_wildcards(as_alice: Any, bob: Any) -> None:
    assert _names(as_alice, "ALICE") == []
    assert _names(as_alice, "%") == [] and _names(as_alice, "_") == []
