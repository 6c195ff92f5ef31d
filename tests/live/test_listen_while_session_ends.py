"""A logout or new password that lands while a listen is being answered ends that listen.

The revoke that a logout or password change sends finds nothing to end while the
listen is still being answered; the view checks the session once the listen is
registered, ends it and answers 401 instead of the SDP answer.
"""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client

from streams import access, services
from tests.live.access_helpers import active_listeners, listening, tone
from tests.live.conftest import ArrayTrack
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


def _new_password(user_id: int) -> None:
    user = User.objects.get(pk=user_id)
    user.set_password("a new Pa55word for bob!")  # e.g. from another device, to cut off a thief
    user.save()


def _log_out_elsewhere(session_key: str) -> None:
    """The same session logged out from another tab, through the real view."""
    other_tab = Client()
    other_tab.cookies["sessionid"] = session_key
    assert other_tab.post("/api/auth/logout/").status_code == 204


async def _listen_while(bob, monkeypatch, meanwhile):  # type: ignore[no-untyped-def]
    original = services.check_can_listen

    def checked_then(listener: User, username: str) -> User:
        broadcaster = original(listener, username)
        meanwhile()  # lands after the view's checks, before the listener exists
        return broadcaster

    monkeypatch.setattr(services, "check_can_listen", checked_then)
    return await bob.listen("alice")


@pytest.mark.parametrize("what", ["new_password", "logout"])
async def test_session_ending_while_answered_ends_the_listen(clients, hub, monkeypatch, what):
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200
    await listening(hub, alice, alice)  # the stream is up; Alice hears herself
    session_key = bob.http.cookies["sessionid"].value
    if what == "new_password":
        resp, _ = await _listen_while(bob, monkeypatch, lambda: _new_password(bob.user.pk))
    else:
        resp, _ = await _listen_while(bob, monkeypatch, lambda: _log_out_elsewhere(session_key))
    assert resp.status_code == 401, resp.content
    assert "sdp" not in resp.json()
    session = hub.session_for(alice.user.pk)
    assert session.listener_ids(bob.user.pk) == []
    assert session.listeners == 1  # Alice herself
    assert await active_listeners(alice, "alice") == 1


async def test_a_listen_from_a_live_session_is_answered(clients, hub, monkeypatch):
    alice, bob, _, _ = clients
    resp, _ = await alice.go_live(ArrayTrack(tone()))
    assert resp.status_code == 200
    await listening(hub, alice, alice)
    resp, _ = await _listen_while(bob, monkeypatch, lambda: None)
    assert resp.status_code == 200, resp.content
    assert hub.session_for(alice.user.pk).listener_ids(bob.user.pk)


async def test_logout_revokes_after_the_session_is_gone(clients, monkeypatch):
    """The revocations go out once the session is deleted: a listen registered after them
    finds its session gone (the view's check above), never a session still valid."""
    _, bob, _, _ = clients
    session_key = bob.http.cookies["sessionid"].value
    session_there_when_sent: list[bool] = []

    def record(channels, message, **kwargs):  # type: ignore[no-untyped-def]
        exists = Session.objects.filter(session_key=session_key).exists
        transaction.on_commit(lambda: session_there_when_sent.append(exists()))

    monkeypatch.setattr(access, "send_after_commit", record)
    await sync_to_async(_log_out_elsewhere)(session_key)
    assert session_there_when_sent == [False]
