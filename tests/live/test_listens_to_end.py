"""The access check's query (:func:`streams.services.listens_to_end`): which listeners may
no longer hear which broadcasters, and why, in two queries however many pairs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from streams.services import listens_to_end
from users.services import do_unfriend

pytestmark = pytest.mark.django_db


def test_only_the_pairs_that_lost_access_come_back(friends):
    alice, bob, carol = friends
    pairs = [
        (alice.pk, bob.pk),  # friends
        (bob.pk, alice.pk),
        (alice.pk, carol.pk),  # never friends
        (alice.pk, alice.pk),  # the broadcaster on her own stream
    ]
    with CaptureQueriesContext(connection) as queries:
        ended = listens_to_end(pairs)
    assert ended == {(alice.pk, carol.pk): "not_friends"}
    assert len(queries.captured_queries) == 2

    do_unfriend(alice, "bob")
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert listens_to_end(pairs) == {
        (alice.pk, bob.pk): "logged_out",  # inactive first: the account no longer logs in
        (bob.pk, alice.pk): "not_friends",
        (alice.pk, carol.pk): "not_friends",
    }
    assert listens_to_end([]) == {}
