"""Fixtures of the presence tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.signals import user_logged_out


@pytest.fixture
def logged_out() -> Any:
    """The user names ``user_logged_out`` was sent for, in order."""
    names: list[str] = []

    def record(sender: Any, user: Any = None, **kwargs: Any) -> None:
        names.append(user.username if user is not None else "")

    user_logged_out.connect(record, dispatch_uid="tests.presence.logged_out")
    yield names
    user_logged_out.disconnect(dispatch_uid="tests.presence.logged_out")
