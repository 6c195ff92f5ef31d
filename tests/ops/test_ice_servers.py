"""GET /api/webrtc/ice-servers/: STUN plus coturn REST credentials (HMAC-SHA1 of the
shared secret over "<expiry>:<user id>"), logged-in users only, relay policy flag."""

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest

from streams.ice import turn_credential
from tests.conftest import ApiClient

URL = "/api/webrtc/ice-servers/"
TURN = ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"]


@pytest.fixture
def turn(settings: Any) -> Any:
    settings.WEBRTC_STUN_URLS = ["stun:stun.example.org:3478"]
    settings.TURN_URLS = TURN
    settings.TURN_SECRET = "s3cret"
    settings.TURN_TTL_S = 600
    settings.FORCE_RELAY = False
    return settings


def test_credential_is_coturn_rest_hmac() -> None:
    username, credential = turn_credential("s3cret", 42, 600, now=1_000_000.7)
    assert username == "1000600:42"
    expected = hmac.new(b"s3cret", b"1000600:42", hashlib.sha1).digest()
    assert base64.b64decode(credential) == expected


def test_logged_in_user_gets_stun_and_fresh_turn(
    turn: Any, alice: Any, as_alice: ApiClient
) -> None:
    before = int(time.time())
    resp = as_alice.get(URL)
    assert resp.status_code == 200
    assert resp["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["iceTransportPolicy"] == "all"
    stun, relay = body["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    assert relay["urls"] == TURN
    expiry, user_id = relay["username"].split(":")
    assert user_id == str(alice.pk)
    assert before + 600 <= int(expiry) <= int(time.time()) + 600
    mac = hmac.new(b"s3cret", relay["username"].encode(), hashlib.sha1).digest()
    assert relay["credential"] == base64.b64encode(mac).decode()


def test_force_relay_sets_the_policy(turn: Any, as_alice: ApiClient) -> None:
    turn.FORCE_RELAY = True
    assert as_alice.get(URL).json()["iceTransportPolicy"] == "relay"


def test_no_turn_without_secret(turn: Any, as_alice: ApiClient) -> None:
    turn.TURN_SECRET = ""
    assert as_alice.get(URL).json()["iceServers"] == [{"urls": ["stun:stun.example.org:3478"]}]


def test_anonymous_gets_401(turn: Any, anon: ApiClient) -> None:
    resp = anon.get(URL)
    assert resp.status_code == 401
    assert "credential" not in resp.content.decode()


def test_only_get(turn: Any, as_alice: ApiClient) -> None:
    assert as_alice.post(URL, {}).status_code == 405
