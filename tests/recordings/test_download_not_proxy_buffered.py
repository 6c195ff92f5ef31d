"""Recording audio is streamed through nginx unbuffered: ``X-Accel-Buffering: no``.

nginx buffers an upstream response by default (up to a 1 GB temp file each), so it would
read the whole file from the app at once: the per-second ``may_read`` re-check (an ended
friendship ends the download) would cut nothing the client had not yet been sent, and many
slow downloads would fill nginx's temp disk. Full, ranged and flac responses all say so.
"""

from __future__ import annotations

import pytest

from .conftest import body

# Audio is read on the download lanes, whose threads see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?download=1", {}),
        ("?format=flac", {}),
        ("", {"HTTP_RANGE": "bytes=100-5000"}),
    ],
)
def test_audio_responses_tell_nginx_not_to_buffer(rec, as_bob, query, headers):
    resp = as_bob.get(f"/api/recordings/{rec.pk}/audio/{query}", **headers)
    assert resp.status_code in (200, 206)
    assert resp["X-Accel-Buffering"] == "no"
    body(resp)  # streams to the end, closing the source
