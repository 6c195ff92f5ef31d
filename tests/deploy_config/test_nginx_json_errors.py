"""Errors nginx makes itself under /api/ are JSON ``{"error": ...}`` (the API contract), not
its HTML pages: a body over nginx's limit (413), no app node answering (502), a node slower
than the proxy timeout (504). Answers the app makes pass through as they are.

The config checks need only nginx.sh; the last tests run Debian's nginx (skipped when it is
not installed; .ci/run installs it) on the rendered config, on free loopback ports, in
front of app ports where nothing listens or where nothing ever answers.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy_config.nginx import (
    NGINX,
    block,
    directives,
    free_port,
    render,
    runnable,
    serving,
)

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def test_api_errors_go_to_json_pages() -> None:
    api = directives(block(render(), "location /api/ {"))
    pages = [line.split()[-1].rstrip(";") for line in api if line.startswith("error_page")]
    codes = {code for line in api if line.startswith("error_page") for code in line.split()[1:-1]}
    assert {"413", "429", "502", "503", "504"} <= codes
    for page in pages:
        assert page.startswith("@"), page  # named: no URL reaches them from outside


def request(port: int, method: str, path: str, length: int | None = None) -> tuple[int, str, dict]:
    """(status, Content-Type, JSON body) of one https request; ``length`` declares a body
    that is never sent (nginx answers a declared oversized length before reading any)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    try:
        conn.putrequest(method, path)
        if length is not None:
            conn.putheader("Content-Length", str(length))
            conn.putheader("Content-Type", "application/octet-stream")
        conn.endheaders()
        resp = conn.getresponse()
        raw = resp.read()
        ctype = resp.getheader("Content-Type", "")
        assert ctype == "application/json", (resp.status, ctype, raw[:300])
        return resp.status, ctype, json.loads(raw)
    finally:
        conn.close()


def render_on(https: int, app_port: int | None = None, **env: str) -> str:
    """The config served on ``https`` (and a free http port), in front of ``app_port`` (None:
    two free ports where nothing listens)."""
    apps = (app_port, app_port) if app_port is not None else (free_port(), free_port())
    return render(
        FC25_HTTPS_PORT=str(https),
        FC25_HTTP_PORT=str(free_port()),
        FC25_APP1_PORT=str(apps[0]),
        FC25_APP2_PORT=str(apps[1]),
        **env,
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@needs_nginx
def test_nginx_answers_json_when_no_node_is_up_or_a_body_is_too_large(tmp_path: Path) -> None:
    https = free_port()
    # Nothing listens on either app port.
    config = render_on(https, FC25_UPLOAD_MAX_MB="1", FC25_API_MAX_BODY_BYTES="4096")
    with serving(tmp_path, runnable(config, tmp_path)):
        status, _, body = request(https, "GET", "/api/auth/me/")
        assert status == 502 and "unavailable" in body["error"]
        status, _, body = request(https, "POST", "/api/friends/requests/", 10 * 1024 * 1024)
        assert (status, body) == (413, {"error": "Request body is larger than 4096 bytes."})
        status, _, body = request(https, "POST", "/api/recordings/import/", 10 * 1024 * 1024)
        assert (status, body) == (413, {"error": "The file is larger than the 1 MB limit."})
        status, _, body = request(https, "GET", "/api/recordings/")
        assert status == 502 and "unavailable" in body["error"]


@needs_nginx
def test_nginx_answers_json_when_the_node_is_too_slow(tmp_path: Path, silent_port: int) -> None:
    https = free_port()
    config = render_on(https, silent_port)
    assert "proxy_read_timeout 120s;" in config
    config = config.replace("proxy_read_timeout 120s;", "proxy_read_timeout 300ms;")
    with serving(tmp_path, runnable(config, tmp_path)):
        status, _, body = request(https, "GET", "/api/recordings/")
        assert status == 504 and "too long" in body["error"]


@needs_nginx
def test_nginx_holds_one_address_to_its_api_rate_with_a_json_429(tmp_path: Path) -> None:
    https = free_port()
    # Nothing listens on the app ports: allowed requests get 502.
    config = render_on(https, FC25_PROXY_API_RATE="1", FC25_PROXY_API_BURST="3")
    with serving(tmp_path, runnable(config, tmp_path)):
        statuses = [request(https, "GET", "/api/auth/me/")[0] for _ in range(6)]
        assert statuses[:4] == [502] * 4  # the rate's one and the burst of three
        assert 429 in statuses[4:]
        status, _, body = request(https, "POST", "/api/recordings/import/")
        assert status == 429 and "Too many requests" in body["error"]
