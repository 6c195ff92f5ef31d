"""TURN settings that could only fail every call, or hand out servers without
credentials, stop the server at start with a message naming the variables."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.servers import ROOT


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FC25_TURN")}
    base.pop("FC25_FORCE_RELAY", None)
    code = "import fc25_denoise.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "FC25_LOCAL_SECRET": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


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
