"""A node answers on its loopback names whatever ALLOWED_HOSTS lists: the container health
check (deploy/healthcheck.py) and Prometheus send ``Host: 127.0.0.1:<port>``, and a 400
there keeps every node unhealthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from fc25_denoise.env import LOOPBACK_HOSTS, allowed_hosts

ROOT = Path(__file__).resolve().parents[2]


def test_loopback_names_added_to_the_configured_list() -> None:
    assert allowed_hosts(["voice.example.org"], None) == [
        "voice.example.org",
        *LOOPBACK_HOSTS,
    ]
    assert set(LOOPBACK_HOSTS) == {"127.0.0.1", "localhost", "[::1]"}


def test_public_host_added_and_nothing_twice() -> None:
    public = urlsplit("https://[2001:db8::1]:8443")
    assert allowed_hosts(["localhost", "internal.lan"], public) == [
        "localhost",
        "internal.lan",
        "[2001:db8::1]",
        "127.0.0.1",
        "[::1]",
    ]


@pytest.mark.django_db
def test_readyz_by_loopback_address_with_allowed_hosts_set(settings: Any) -> None:
    settings.DENOISE_MODEL = "identity"
    settings.ALLOWED_HOSTS = allowed_hosts(["example.org"], None)
    assert Client().get("/readyz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert Client().get("/readyz", HTTP_HOST="evil.example.com").status_code == 400


def test_settings_keep_loopback_when_allowed_hosts_is_set(tmp_path: Path) -> None:
    # Settings are computed at import: a fresh process with the operator's variable.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FC25_", "DJANGO_"))}
    env |= {
        "ALLOWED_HOSTS": "example.org",
        "FC25_LOCAL_SECRET": "1",
        "FC25_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "fc25_denoise.settings",
    }
    show = "import json, django; django.setup(); from django.conf import settings as s; "
    show += "print(json.dumps(s.ALLOWED_HOSTS))"
    result = subprocess.run(
        [sys.executable, "-c", show], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["example.org", "127.0.0.1", "localhost", "[::1]"]
