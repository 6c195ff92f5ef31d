"""An anonymous body sent to an API path without its final slash gets the same JSON 404
naming the right path as a logged-in one (tests/api/test_unsafe_request_without_final_slash.py).

The ASGI entry refuses anonymous bodies on login-only routes with a 401 before Django
sees them; a path without its slash is no route at all, and a client that posts its
login to ``/api/auth/login`` must be told the path is wrong, not that it is logged out.
"""

from __future__ import annotations

import json

import pytest

from tests.limits.test_body_limit import call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register", "/api/friends/requests"])
async def test_an_anonymous_body_without_the_slash_is_404_naming_the_path(path):
    sent, _ = await call(path, 40)
    assert sent[0]["status"] == 404
    assert json.loads(sent[1]["body"]) == {"error": f"API paths end with '/': {path}/"}


async def test_an_anonymous_body_with_the_slash_is_still_refused_unread():
    sent, reads = await call("/api/friends/requests/", 40)
    assert reads == 0 and sent[0]["status"] == 401
