"""The migration that adds ``username_key`` fills it for accounts made before it: the
oldest of two twin names keeps the key (lookups find it, as they did), a younger
twin keeps its account and login but no key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.conftest import PASSWORD, ApiClient
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("users", "0001_initial")


def _targets(executor: MigrationExecutor, users_at: tuple[str, str] | None) -> list[Any]:
    leaves = executor.loader.graph.leaf_nodes()
    if users_at is None:
        return leaves
    return [users_at, *(node for node in leaves if node[0] != "users")]


@pytest.fixture
def old_users() -> Iterator[Any]:
    """The historical User model before the key; the database is migrated forward after."""
    executor = MigrationExecutor(connection)
    targets = _targets(executor, BEFORE)
    executor.migrate(targets)
    try:
        yield (
            MigrationExecutor(connection)
            .loader.project_state(targets)
            .apps.get_model("users", "User")
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(_targets(executor, None))


def test_keys_are_filled_and_twins_keep_their_accounts(old_users):
    password = make_password(PASSWORD)
    for name in ("alice", "bob", "Alice"):  # "Alice" slipped in beside "alice"
        old_users.objects.create(username=name, password=password)
    executor = MigrationExecutor(connection)
    executor.migrate(_targets(executor, None))

    keys = dict(User.objects.values_list("username", "username_key"))
    assert keys == {"alice": "alice", "bob": "bob", "Alice": None}
    as_bob = ApiClient("bob")
    resp = as_bob.post("/api/friends/requests/", {"to_user": "ALICE"})
    assert resp.status_code == 201 and resp.json()["to_user"] == "alice"
    resp = ApiClient().post("/api/auth/login/", {"username": "Alice", "password": PASSWORD})
    assert resp.status_code == 200
