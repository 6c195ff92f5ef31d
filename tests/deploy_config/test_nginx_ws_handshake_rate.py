"""nginx limits WebSocket handshakes per client address (deploy/infra/nginx.conf.template):
a loop that opens and closes presence sockets is cut off at the proxy too, before the app's
own per-user limit (tests/presence/test_presence_connect_rate.py)."""

from __future__ import annotations

from tests.deploy_config.nginx import block, directives, render


def test_ws_handshakes_are_rate_limited_per_client() -> None:
    config = render()
    zones = [d for d in directives(config) if d.startswith("limit_req_zone ")]
    assert "limit_req_zone $fc25_client zone=fc25_ws:10m rate=10r/s;" in zones, zones
    ws = directives(block(config, "location /ws/ {"))
    assert "limit_req zone=fc25_ws burst=300 nodelay;" in ws
    assert "proxy_pass http://fc25_app;" in ws


def test_the_handshake_limit_comes_from_the_environment() -> None:
    config = render(FC25_PROXY_WS_RATE="3", FC25_PROXY_WS_BURST="40")
    assert "limit_req_zone $fc25_client zone=fc25_ws:10m rate=3r/s;" in directives(config)
    assert "limit_req zone=fc25_ws burst=40 nodelay;" in directives(
        block(config, "location /ws/ {")
    )
