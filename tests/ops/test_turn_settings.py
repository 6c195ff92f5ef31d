"""TURN settings that could only fail every call, or hand out servers without
credentials, stop the server at start with a message naming the variables."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops import fresh_settings


def load_settings(**env: str) -> Any:
    return fresh_settings.load_settings(unset=("FC25_TURN", "FC25_FORCE_RELAY"), **env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FC25_FORCE_RELAY": "1"}, "FC25_FORCE_RELAY"),
        ({"FC25_TURN_URLS": "turn:turn.example:3478"}, "FC25_TURN_SECRET"),
        (
            {"FC25_FORCE_RELAY": "1", "FC25_TURN_URLS": "turn:turn.example:3478"},
            "FC25_TURN_SECRET",
        ),
    ],
)
def test_a_relay_that_cannot_work_is_refused(env, named):
    result = load_settings(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_a_complete_relay_loads():
    env = {
        "FC25_FORCE_RELAY": "1",
        "FC25_TURN_URLS": "turn:turn.example:3478",
        "FC25_TURN_SECRET": "s3cret",
    }
    assert load_settings(**env).returncode == 0
    assert load_settings().returncode == 0  # no TURN at all: the embedded default


def test_a_relay_port_range_upside_down_is_refused():
    result = load_settings(FC25_TURN_MIN_PORT="60000", FC25_TURN_MAX_PORT="50000")
    assert result.returncode != 0
    assert "FC25_TURN_MIN_PORT" in result.stderr and "FC25_TURN_MAX_PORT" in result.stderr
    assert load_settings(FC25_TURN_MIN_PORT="0").returncode != 0
    assert load_settings(FC25_TURN_MIN_PORT="49160", FC25_TURN_MAX_PORT="59999").returncode == 0
