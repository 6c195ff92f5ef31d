"""A session cookie that is not a key this server makes (a NUL in a quoted cookie, other
scripts' letters, too long) is no session: 401 from the API and 4401 from the presence
socket. A NUL had reached the session query, which PostgreSQL refuses with an error: a 500
on every route (a plain-text one before Django, from the body limit's session check) and a
failed socket handshake."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from users.sessionstore import SessionStore

ODD_KEYS = ["abcdefgh\x00ijk", "abcdéfghijkl", "a" * 41, "abc-defgh"]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_an_odd_key_is_no_session(key: str) -> None:
    assert SessionStore(key).session_key is None


def test_a_key_this_server_makes_is_kept(db) -> None:
    store = SessionStore()
    store.create()
    assert SessionStore(store.session_key).session_key == store.session_key


# Django's cookie parser unquotes "\000" to a NUL character.
NUL_COOKIE = 'sessionid="abcdefgh\\000ijk"'


@pytest.mark.django_db(transaction=True)
def test_a_nul_session_cookie_is_401(alice) -> None:
    client = Client(HTTP_COOKIE=NUL_COOKIE)
    resp = client.get("/api/auth/me/")
    assert resp.status_code == 401, resp.content
    resp = client.post(
        "/api/friends/requests/", {"to_user": "bob"}, content_type="application/json"
    )
    assert resp.status_code in (401, 403), resp.content  # no session, so no CSRF cookie either
    assert resp.json()["error"]


@pytest.mark.django_db(transaction=True)
async def test_a_nul_session_cookie_is_refused_by_the_presence_socket(alice) -> None:
    from fc25_denoise.asgi import application

    headers = [(b"origin", b"http://127.0.0.1"), (b"cookie", NUL_COOKIE.encode())]
    comm = WebsocketCommunicator(application, "/ws/presence/", headers=headers)
    connected, _ = await comm.connect()
    assert connected  # accepted only to carry the close code
    assert (await comm.receive_output(timeout=5))["code"] == 4401
    await comm.disconnect()
