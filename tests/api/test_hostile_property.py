"""Property: no request to any /api/ route gets a 500 or an HTML page.

Every route is taken from the URLconf, its path parameters filled with valid
and invalid values, and requested as alice, bob, carol or anonymous with any
method, a hostile body (random bytes, deep JSON, huge numbers, wrong types,
huge strings), a hostile query string and hostile headers (Range,
Content-Type with and without a multipart boundary, Host).
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fc25_denoise import runtime
from tests.conftest import befriend, make_user
from tests.recordings.conftest import make_recording

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 1500
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def api_routes() -> list[str]:
    """Every route under /api/ as a pattern string, e.g. ``api/recordings/<int:recording_id>/``."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                found.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "")
    return sorted(r for r in found if r.startswith("api/"))


ROUTES = api_routes()

INT_VALUES = st.one_of(
    st.sampled_from(
        ["{rec}", "{req}", "0", "1", "007", "9" * 25, "2147483648", "9223372036854775808"]
    ),
    st.integers(min_value=0, max_value=10**30).map(str),
)
STR_VALUES = st.one_of(
    st.sampled_from(
        ["alice", "bob", "carol", "nobody", "%00", "%ff", "a%2Fb", "%E2%80%AE", "x" * 500]
    ),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=40
    ).map(lambda s: s.encode("utf-8").hex() if not s.strip() else s),
)
METHODS = st.one_of(
    st.sampled_from(["get", "post", "get", "post", "patch", "delete"]),  # the ones routes take
    st.sampled_from(["put", "head", "options"]),
)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
)
FIELDS = st.sampled_from(
    [
        "username",
        "password",
        "to_user",
        "title",
        "model",
        "atten_lim_db",
        "record_raw",
        "sdp",
        "type",
        "q",
    ]
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(FIELDS | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _deep(n: int) -> bytes:
    return ("[" * n + "]" * n).encode()


BODIES = st.one_of(
    st.binary(max_size=300),
    st.integers(min_value=900, max_value=3000).map(_deep),
    st.integers(min_value=4000, max_value=6000).map(
        lambda n: b'{"atten_lim_db": ' + b"9" * n + b"}"
    ),
    st.dictionaries(FIELDS, JSON_VALUES, max_size=5).map(lambda d: json.dumps(d).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(["to_user", "username", "title", "sdp"]).map(
        lambda f: json.dumps({f: "x" * 70_000}).encode()
    ),
    st.just(
        b'{"username": "a\\u0000b", "password": "p\\u0000", "to_user": "\\u0000", "title": "\\u0000"}'
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json; charset=bogus",
        "",
    ]
)
QUERIES = st.one_of(
    st.just(""),
    st.sampled_from(
        ["format=flac", "format=wav&version=raw", "download=1", "buckets=50", "q=al", "buckets=-1"]
    ),
    st.integers(min_value=1001, max_value=1500).map(
        lambda n: "&".join(f"f{i}=1" for i in range(n))
    ),
    st.sampled_from(
        ["q=%ff%fe", "q=%00", "q=%", "buckets=" + "9" * 5000, "q=" + "é" * 300, "version=%E2%80%AE"]
    ),
    st.text(max_size=60).map(lambda s: "q=" + s.replace("#", "")),
)
RANGES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "bytes=0-10",
            "bytes=-5",
            "bytes=" + "9" * 4400 + "-",
            "bytes=0-" + "9" * 4400,
            "bytes=x",
            "bytes=5-1",
        ]
    ),
    st.text(max_size=30),
)
HOSTS = st.one_of(
    st.just("127.0.0.1"),  # most requests reach the views
    st.sampled_from(["localhost", "evil.example", "bad host!", "127.0.0.1:x", ""]),
)


@dataclass
class World:
    clients: dict[str, Client]
    ids: dict[str, str]


@pytest.fixture
def world(tmp_path) -> Any:
    alice, bob, carol = (make_user(n) for n in ("alice", "bob", "carol"))
    befriend(alice, bob)
    rec = make_recording(alice, tmp_path)
    from users.models import FriendRequest

    req = FriendRequest.objects.create(from_user=carol, to_user=alice)
    clients: dict[str, Client] = {}
    for name, user in (("alice", alice), ("bob", bob), ("carol", carol), ("anonymous", None)):
        client = Client(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        clients[name] = client
    previous = runtime.replace_live_hub(None)
    yield World(clients, {"rec": str(rec.pk), "req": str(req.pk)})
    hub = runtime.replace_live_hub(previous)
    if hub is not None:
        hub.runtime.shutdown()


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(ROUTES))

    def fill(match: re.Match[str]) -> str:
        return draw(INT_VALUES if match.group(1) == "int" else STR_VALUES)

    path = "/" + _PARAM.sub(fill, route)
    odd = draw(st.sampled_from([None] * 6 + ["strip", "x/", "%00/", "../"]))
    if odd == "strip":
        path = path.rstrip("/")
    elif odd:
        path += odd
    return {
        "who": draw(st.sampled_from(["alice", "bob", "carol", "anonymous"])),
        "method": draw(METHODS),
        "path": path,
        "query": draw(QUERIES),
        "body": draw(BODIES),
        "content_type": draw(CONTENT_TYPES),
        "range": draw(RANGES),
        "host": draw(HOSTS),
    }


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(req=requests())
def test_no_route_answers_500_or_html(world, req):
    client = world.clients[req["who"]]
    path = req["path"].replace("{rec}", world.ids["rec"]).replace("{req}", world.ids["req"])
    url = f"{path}?{req['query']}" if req["query"] else path
    extra: dict[str, str] = {"HTTP_HOST": req["host"]}
    if req["range"] is not None:
        extra["HTTP_RANGE"] = req["range"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # streamed audio collected by the sync client
        if req["method"] in ("get", "head"):
            resp = getattr(client, req["method"])(url, **extra)
        else:  # the body's bytes as they are, whatever the declared charset
            method = req["method"].upper()
            resp = client.generic(method, url, req["body"], req["content_type"], **extra)
        content = b"".join(resp) if resp.streaming else resp.content
    status, content_type = resp.status_code, resp.get("Content-Type", "")
    event(f"status {status}")
    assert status < 500, (status, content[:300])
    if path.startswith("/api/"):
        assert not content_type.startswith("text/html"), (status, content[:300])
        if status >= 400 and req["method"] != "head":
            assert content_type == "application/json", (status, content_type, content[:300])
            assert json.loads(content)["error"]
