"""Under Daphne, a multipart body without a boundary reaches Django and gets a JSON 400.

Twisted would parse such a body itself and answer a bare 400 (no body, connection
closed); :mod:`fc25_denoise.server` leaves form bodies to Django.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from tests.servers import ROOT, start_daphne, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("daphne-data")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(FC25_DATA_DIR=str(data), FC25_LOCAL_SECRET="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    proc, host = start_daphne(env, data / "daphne.log")
    base = f"http://{host}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{base}/api/auth/csrf/", timeout=2)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, (data / "daphne.log").read_text()
            time.sleep(0.2)
    yield base
    stop(proc)


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=abc", "multipart/form-data; boundary="],
)
def test_multipart_without_usable_boundary_is_json_400(server, content_type):
    session = requests.Session()
    token = session.get(f"{server}/api/auth/csrf/").json()["csrfToken"]
    headers = {"X-CSRFToken": token, "Referer": server}
    name = "u" + content_type.split("=")[-1].replace("/", "").replace(";", "")[-8:]
    account = {"username": name, "password": "correct-horse-battery-9"}
    registered = session.post(f"{server}/api/auth/register/", json=account, headers=headers)
    assert registered.status_code == 201, registered.content
    headers["X-CSRFToken"] = session.cookies["csrftoken"]  # rotated at login
    resp = session.post(
        f"{server}/api/recordings/import/",
        data=b"--x\r\nContent-Disposition: form-data\r\n\r\nzz",
        headers={**headers, "Content-Type": content_type},
    )
    assert resp.status_code == 400, resp.content
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.json()["error"]
