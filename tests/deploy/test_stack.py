"""The deployed stack (docker-compose.yml) end to end, in Chromium over https through nginx:
TLS and the http redirect, /metrics refused by nginx, and a live stream relayed through
coturn (FC25_FORCE_RELAY=1), denoised for the listener, counted by the node's /metrics,
stored in the S3 bucket and played back. Needs `make deploy-env deploy-up` (see .ci/run).
"""

from __future__ import annotations

import http.client
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.helpers import TIMEOUT_MS, by_testid, register, unique_name
from tests.browser.live_helpers import (
    CAPTURE_JS,
    befriend,
    call_api,
    go_live,
    quiet_loud_db,
    start_listening,
)
from tests.deploy.stack import SELECTED_PAIRS_JS, TRACK_PEERS_JS, Stack

pytestmark = [pytest.mark.deploy]

CAPTURE_S = 5.0
NOISE_DROP_DB = 15.0
SPEECH_TOLERANCE_DB = 8.0
INSECURE = ssl._create_unverified_context()  # the stack's self-signed certificate


def new_context(browser: Browser, stack: Stack) -> BrowserContext:
    ctx = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.grant_permissions(["microphone"], origin=stack.base)
    ctx.add_init_script(TRACK_PEERS_JS)
    return ctx


def pair(browser: Browser, stack: Stack) -> tuple[list[BrowserContext], Page, Page, str, str]:
    """Alice and Bob registered through nginx and friends."""
    contexts = [new_context(browser, stack), new_context(browser, stack)]
    alice, bob = contexts[0].new_page(), contexts[1].new_page()
    alice_name, bob_name = unique_name("alice"), unique_name("bob")
    register(alice, stack.base, alice_name)
    register(bob, stack.base, bob_name)
    befriend(alice, bob, alice_name, bob_name)
    return contexts, alice, bob, alice_name, bob_name


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def test_tls_redirect_and_no_metrics_or_readiness_through_nginx(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.base}/healthz", context=INSECURE, timeout=10) as resp:
        assert resp.status == 200
    for internal in ("/metrics", "/readyz"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{stack.base}{internal}", context=INSECURE, timeout=10)
        assert refused.value.code in (403, 404), internal
    host = urlsplit(stack.base).hostname
    conn = http.client.HTTPConnection(host, int(stack.env["FC25_HTTP_PORT"]), timeout=10)
    conn.request("GET", "/login/?next=/")
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == f"{stack.base}/login/?next=/"
    # Directly on a node's port (loopback), /metrics answers.
    assert stack.node_metric("app1", "fc25_live_streams") >= 0


def test_live_stream_relayed_denoised_recorded_in_s3(
    stack: Stack, fake_mic_browser: Browser, noisy_wav: tuple
) -> None:
    contexts, alice, bob, alice_name, _ = pair(fake_mic_browser, stack)
    try:
        ice = call_api(alice, "GET", "/api/webrtc/ice-servers/")
        assert ice["iceTransportPolicy"] == "relay", ice
        assert any("credential" in server for server in ice["iceServers"]), ice
        keys_before = stack.bucket_keys()

        go_live(alice)
        start_listening(bob, stack.base, alice_name)
        expect(by_testid(alice, "listener-count")).to_have_text("1", timeout=15_000)
        # nginx spreads the requests over both nodes; the stream runs on one of them.
        assert stack.live_streams() == 1
        assert sum(stack.node_metric(n, "fc25_live_listeners") for n in stack.node_ports) == 1

        # Both browsers' media go through coturn: their selected pairs are relayed.
        for page in (alice, bob):
            pairs = page.evaluate(SELECTED_PAIRS_JS)
            assert pairs, "no connected peer connection"
            for found in pairs:
                assert found["policy"] == "relay" and found["turn"], found
                assert found["local"] == "relay", found

        got = bob.evaluate(CAPTURE_JS, [CAPTURE_S, "listen"])
        rate, received = got["rate"], np.asarray(got["samples"], dtype=np.float32)
        assert rate > 0 and len(received) >= rate * (CAPTURE_S - 0.1), "no audio received"
        in_quiet, in_loud = quiet_loud_db(noisy_wav[1], 48_000)
        out_quiet, out_loud = quiet_loud_db(received, rate)
        report = f"in {in_quiet:.1f}/{in_loud:.1f} dB, received {out_quiet:.1f}/{out_loud:.1f} dB"
        assert out_quiet <= in_quiet - NOISE_DROP_DB, f"noise not removed: {report}"
        assert abs(out_loud - in_loud) <= SPEECH_TOLERANCE_DB, f"speech level off: {report}"

        with alice.expect_response(lambda r: r.url.endswith("/api/streams/stop/")) as info:
            by_testid(alice, "stop-live").click()
        stopped = info.value.json()
        assert info.value.status == 200 and stopped["recording_id"], stopped
        wait_for(lambda: stack.live_streams() == 0, 30, "the live streams gauge to drop")

        new_keys = stack.bucket_keys() - keys_before
        assert any(key.endswith(".flac") for key in new_keys), new_keys
        audio = alice.request.get(f"{stack.base}/api/recordings/{stopped['recording_id']}/audio/")
        assert audio.status == 200, audio.text()
        assert audio.headers["content-type"].startswith("audio/"), audio.headers
        assert len(audio.body()) > 10_000
    finally:
        for ctx in contexts:
            ctx.close()


def node_api_requests(stack: Stack, node: str, since: str) -> int:
    """Requests under /api/ in a node's access log since ``since`` (RFC 3339)."""
    container = stack.compose("ps", "-q", node).strip()
    logs = subprocess.run(
        ["docker", "logs", "--since", since, container],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return sum(
        '"GET /api/' in line or '"POST /api/' in line
        for line in (logs.stdout + logs.stderr).splitlines()
    )


def test_both_nodes_serve_and_a_killed_node_saves_its_stream(
    stack: Stack, fake_mic_browser: Browser
) -> None:
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    contexts, alice, bob, alice_name, _ = pair(fake_mic_browser, stack)
    try:
        go_live(alice)
        start_listening(bob, stack.base, alice_name)
        expect(by_testid(alice, "listener-count")).to_have_text("1", timeout=15_000)
        served = {node: node_api_requests(stack, node, since) for node in stack.node_ports}
        assert all(served.values()), f"nginx did not spread the requests: {served}"

        host = next(n for n in stack.node_ports if stack.node_metric(n, "fc25_live_streams") == 1)
        stack.compose("kill", host)
        expect(by_testid(bob, "listen-status")).to_have_attribute(
            "data-state", "ended", timeout=30_000
        )
        stack.compose("start", host)
        stack.wait_healthy(host)

        def saved() -> bool:
            recordings = call_api(alice, "GET", "/api/recordings/")["recordings"]
            return any(r["owner"] == alice_name and r["duration"] > 1 for r in recordings)

        wait_for(saved, 60, "the killed node's recording to be saved")
    finally:
        for ctx in contexts:
            ctx.close()
        for node in stack.node_ports:
            stack.compose("start", node)
            stack.wait_healthy(node)
