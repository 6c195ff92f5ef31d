"""Integer settings fail loudly outside their bounds (FC25_REALTIME_PRIORITY: 0-99)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from fc25_denoise.env import env_int


def test_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FC25_REALTIME_PRIORITY", raising=False)
    assert env_int("FC25_REALTIME_PRIORITY", 10, minimum=0, maximum=99) == 10


@pytest.mark.parametrize("raw", ["0", "99", " 42 "])
def test_within_bounds(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("FC25_REALTIME_PRIORITY", raw)
    assert env_int("FC25_REALTIME_PRIORITY", 10, minimum=0, maximum=99) == int(raw)


@pytest.mark.parametrize(
    ("raw", "says"), [("-1", "at least 0"), ("100", "at most 99"), ("x", "not an integer")]
)
def test_outside_bounds_or_not_a_number(
    monkeypatch: pytest.MonkeyPatch, raw: str, says: str
) -> None:
    monkeypatch.setenv("FC25_REALTIME_PRIORITY", raw)
    with pytest.raises(ImproperlyConfigured, match=says):
        env_int("FC25_REALTIME_PRIORITY", 10, minimum=0, maximum=99)
