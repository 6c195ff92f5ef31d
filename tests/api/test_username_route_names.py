"""User names the URLs cannot carry are refused (400 field error at registration, and by
``User.clean``): dot-only names (browsers resolve "." and ".." in every URL built for
them) and names that read as a route segment beside a user name (``/api/friends/requests/``
is the requests collection, not the friend "requests")."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import PASSWORD, ApiClient
from users.models import User

pytestmark = pytest.mark.django_db


def register(name: str):
    return ApiClient().post("/api/auth/register/", {"username": name, "password": PASSWORD})


@pytest.mark.parametrize(
    "name", [".", "..", "...", "\uff0e\uff0e", "\u2025", "requests", "Requests", "\uff52equests"]
)
def test_name_the_urls_cannot_carry_is_refused(name):
    resp = register(name)
    assert resp.status_code == 400, resp.content
    assert resp.json()["errors"]["username"]
    assert not User.objects.exists()
    with pytest.raises(ValidationError) as info:
        User(username=name).clean()
    assert "username" in info.value.message_dict


@pytest.mark.parametrize("name", ["a.b", ".alice", "bob.", "requested", "request"])
def test_names_with_dots_or_near_a_segment_are_fine(name):
    assert register(name).status_code == 201, name


def _routes(patterns: list, prefix: str = "") -> list[str]:
    out = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            out += _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            out.append(route)
    return out


def test_every_literal_segment_beside_a_string_parameter_is_reserved():
    """Guards new routes: a literal segment at the position of a ``<str:...>`` segment
    with the same parent would shadow (or be shadowed by) a user name there."""
    from users.models import RESERVED_USERNAMES

    routes = [r for r in _routes(get_resolver().url_patterns) if not r.startswith("admin/")]
    beside: set[str] = set()
    for route in routes:
        for match in re.finditer(r"<str:\w+>/", route):
            parent = route[: match.start()]
            for other in routes:
                rest = other[len(parent) :] if other.startswith(parent) else ""
                segment = rest.split("/", 1)[0]
                if segment and "<" not in segment and "/" in rest:
                    beside.add(segment)
    assert "requests" in beside
    assert beside <= RESERVED_USERNAMES
