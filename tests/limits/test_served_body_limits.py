"""Against the real served process: no request body can exhaust it.

1 GB chunked and 1 GB declared bodies, and 250 MB multipart ones, anonymous and
logged in, to the import route and a JSON route: each is answered with a 413 JSON
error (declared length over the limit, or past it when logged in) or a 401
(anonymous and chunked) after the server read at most its limit (the client is cut off),
the server's RSS barely moves, no temporary file is left, and a GET sent in
parallel is answered promptly (the event loop never stalls). Bodies are
generated lazily, 1 MB at a time.
"""

from __future__ import annotations

import os

import pytest

from tests.limits.conftest import UPLOAD_MAX_MB
from tests.limits.uploads import MB, Watch, post

GB = 1024 * MB
RSS_GROWTH_MAX = 50 * MB
PARALLEL_GET_MAX_S = 0.5
SOCKET_SLACK = 16 * MB
"""What kernel socket buffers and the server's high-water mark may hold past the limit."""


CASES = [  # (size, chunked, multipart)
    pytest.param(GB, True, False, id="1GB-chunked"),
    pytest.param(GB, False, False, id="1GB-length"),
    pytest.param(250 * MB, False, True, id="250MB-multipart"),
    pytest.param(250 * MB, True, True, id="250MB-multipart-chunked"),
]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "alice"])
@pytest.mark.parametrize("path", ["/api/recordings/import/", "/api/friends/requests/"])
@pytest.mark.parametrize(("size", "chunked", "multipart"), CASES)
def test_huge_body_is_refused_without_exhausting_the_server(
    served, path, logged_in, size, chunked, multipart
):
    host, pid = served["host"], int(served["pid"])
    cookie = served["alice"].cookies["sessionid"] if logged_in else ""
    with Watch(host, pid) as watch:
        status, reply, sent = post(
            host, path, size, chunked=chunked, multipart=multipart, cookie=cookie
        )
    if not logged_in and chunked:  # a declared length over the limit is refused first
        assert (status, reply) == (401, {"error": "You are not logged in."})
    elif path == "/api/recordings/import/":
        assert (status, reply) == (
            413,
            {"error": f"The file is larger than the {UPLOAD_MAX_MB} MB limit."},
        )
    else:
        assert status == 413 and reply["error"].startswith("Request body is larger than")
    limit = UPLOAD_MAX_MB * MB if logged_in and path.endswith("import/") else 0
    assert sent < limit + SOCKET_SLACK, f"the server read {sent} bytes"
    assert watch.peak - watch.baseline < RSS_GROWTH_MAX, (watch.baseline, watch.peak)
    assert watch.slowest_get < PARALLEL_GET_MAX_S
    assert os.listdir(served["tmp"]) == []
