"""Which logins the access check may call ended (:func:`users.logins.ended_logins`): those
known to have ended (a logout, a deleted or expired row, a new password), never one that
goes on or one it knows nothing of."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.utils import timezone

from users.logins import LOGIN_TAG_KEY, RECORD_PREFIX, ended_logins, session_tag

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> tuple[Client, str]:
    """A browser logged in as ``user``, and its login's tag."""
    client = Client()
    client.force_login(user)
    return client, client.session[LOGIN_TAG_KEY]


def row(client: Client):
    return Session.objects.filter(session_key=client.session.session_key)


def test_a_login_that_goes_on_is_not_ended(bob: Any) -> None:
    _, tag = logged_in(bob)
    assert ended_logins([(bob.pk, tag)]) == set()


def test_a_logout_is_ended_once_committed(bob: Any, django_capture_on_commit_callbacks) -> None:
    client, tag = logged_in(bob)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        client.post("/api/auth/logout/")  # the client's CSRF checks are off
    # Until the logout commits, its record still names the key: a logout whose
    # transaction fails leaves the login going.
    assert cache.get(RECORD_PREFIX + tag)[1] is not None
    for callback in pending:
        callback()
    assert ended_logins([(bob.pk, tag)]) == {tag}


def test_a_deleted_row_is_ended(bob: Any) -> None:
    client, tag = logged_in(bob)
    row(client).delete()
    assert ended_logins([(bob.pk, tag)]) == {tag}


def test_an_expired_row_is_ended_before_the_sweep(bob: Any) -> None:
    client, tag = logged_in(bob)
    row(client).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert ended_logins([(bob.pk, tag)]) == {tag}


def test_a_new_password_ends_the_login(bob: Any) -> None:
    _, tag = logged_in(bob)
    bob.set_password("another long passphrase 42")
    bob.save()
    assert ended_logins([(bob.pk, tag)]) == {tag}


def test_a_renewed_key_goes_on(bob: Any) -> None:
    client, tag = logged_in(bob)
    session = client.session
    old_key = session.session_key
    session.cycle_key()  # as update_session_auth_hash does: a new row, the old deleted
    assert session.session_key != old_key and session[LOGIN_TAG_KEY] == tag
    assert not Session.objects.filter(session_key=old_key).exists()
    assert ended_logins([(bob.pk, tag)]) == set()


def test_what_it_knows_nothing_of_is_not_ended(alice: Any, bob: Any) -> None:
    client, tag = logged_in(bob)
    key_name = session_tag(client.session.session_key)  # a login from before the tags
    row(client).delete()
    assert ended_logins([(bob.pk, key_name)]) == set()
    assert ended_logins([(alice.pk, tag)]) == set()  # not alice's login
    cache.delete(RECORD_PREFIX + tag)  # the record lost with the cache
    assert ended_logins([(bob.pk, tag)]) == set()


def test_many_logins_in_one_call(alice: Any, bob: Any) -> None:
    _, a_tag = logged_in(alice)
    gone, b_tag = logged_in(bob)
    _, b_tag2 = logged_in(bob)
    row(gone).delete()
    assert ended_logins([(alice.pk, a_tag), (bob.pk, b_tag), (bob.pk, b_tag2)]) == {b_tag}


class BrokenCache:
    def get_many(self, keys: list[str]) -> dict[str, Any]:
        raise ConnectionError("cache away")


def test_a_cache_failure_ends_nothing_and_is_logged(
    bob: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, tag = logged_in(bob)
    row(client).delete()
    monkeypatch.setattr("users.logins.cache", BrokenCache())
    assert ended_logins([(bob.pk, tag)]) == set()
    assert "could not read 1 logins' records" in caplog.text


def test_the_embedded_cache_keeps_many_logins_records() -> None:
    """Django's locmem default (300 entries) culled a third of the records past 300 logins,
    which then count as unknown. Redis keeps them all."""
    if not isinstance(caches["default"], LocMemCache):
        pytest.skip("not the embedded cache")
    for n in range(1000):
        cache.set(RECORD_PREFIX + f"1.{n}", ("1", f"key{n}"), 60)
    assert len(cache.get_many([RECORD_PREFIX + f"1.{n}" for n in range(1000)])) == 1000
