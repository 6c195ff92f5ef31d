"""GET /api/recordings/ID/audio/: WAV rendered from FLAC, byte ranges, versions, formats."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.files.storage import default_storage

from .conftest import RATE, body, signal

# Audio is read on the download lanes, whose threads see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def test_full_wav_is_the_stored_audio(rec, as_bob):
    resp = as_bob.get(f"/api/recordings/{rec.pk}/audio/")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "audio/wav"
    assert resp["Accept-Ranges"] == "bytes"
    data = body(resp)
    assert len(data) == int(resp["Content-Length"]) == 44 + 3 * RATE * 2
    wav, rate = sf.read(io.BytesIO(data), dtype="int16")
    with default_storage.open(rec.file.name) as fh:
        flac, _ = sf.read(fh, dtype="int16")
    assert rate == RATE
    np.testing.assert_array_equal(wav, flac)


def test_raw_version(rec, as_alice):
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/?version=raw")
    audio, _ = sf.read(io.BytesIO(body(resp)), dtype="float32")
    np.testing.assert_allclose(audio, signal(3.0), atol=1 / 32768 + 1e-6)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-43", 0, 43),  # the header only
        ("bytes=0-0", 0, 0),
        ("bytes=40-100", 40, 100),  # across header and data
        ("bytes=101-50001", 101, 50001),  # odd offsets: mid-sample
        ("bytes=200000-", 200000, 44 + 3 * RATE * 2 - 1),
        ("bytes=-1000", 44 + 3 * RATE * 2 - 1000, 44 + 3 * RATE * 2 - 1),
        ("bytes=288000-999999999", 288000, 44 + 3 * RATE * 2 - 1),
    ],
)
def test_ranges_match_the_full_file(rec, as_alice, header, start, end):
    url = f"/api/recordings/{rec.pk}/audio/"
    full = body(as_alice.get(url))
    resp = as_alice.get(url, HTTP_RANGE=header)
    assert resp.status_code == 206
    assert resp["Content-Range"] == f"bytes {start}-{end}/{len(full)}"
    part = body(resp)
    assert int(resp["Content-Length"]) == len(part) == end - start + 1
    assert part == full[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0", "bytes=500-400"])
def test_unsatisfiable_range_is_416(rec, as_alice, header):
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE=header)
    assert resp.status_code == 416
    assert resp["Content-Range"] == f"bytes */{44 + 3 * RATE * 2}"


@pytest.mark.parametrize("header", ["items=0-5", "bytes=0-5,10-20", "bytes=x-y"])
def test_unsupported_range_forms_get_the_whole_file(rec, as_alice, header):
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE=header)
    assert resp.status_code == 200
    assert len(body(resp)) == 44 + 3 * RATE * 2


def test_flac_download(rec, as_alice):
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/?format=flac&download=1")
    assert resp["Content-Type"] == "audio/flac"
    assert resp["Content-Disposition"] == 'attachment; filename="Test.flac"'
    data = body(resp)
    with default_storage.open(rec.file.name) as fh:
        assert data == fh.read()
    part = body(
        as_alice.get(f"/api/recordings/{rec.pk}/audio/?format=flac", HTTP_RANGE="bytes=10-19")
    )
    assert part == data[10:20]


def test_bad_query_values(rec, as_alice):
    base = f"/api/recordings/{rec.pk}/audio/"
    assert as_alice.get(base + "?version=other").status_code == 400
    assert as_alice.get(base + "?format=mp3").status_code == 400


def test_missing_raw_version_is_404(friends, as_alice, tmp_path):
    from .conftest import make_recording

    no_raw = make_recording(friends[0], tmp_path, raw=False, title="noraw")
    resp = as_alice.get(f"/api/recordings/{no_raw.pk}/audio/?version=raw")
    assert resp.status_code == 404 and "raw" in resp.json()["error"]
    assert as_alice.get(f"/api/recordings/{no_raw.pk}/").json()["raw_audio_url"] is None


def test_file_missing_from_storage_is_404(rec, as_alice):
    default_storage.delete(rec.file.name)
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/")
    assert resp.status_code == 404 and "missing" in resp.json()["error"]


def test_peaks_of_both_versions(rec, as_bob, raw_shared):
    resp = as_bob.get(f"/api/recordings/{rec.pk}/peaks/?buckets=100")
    assert resp.status_code == 200
    data = resp.json()
    assert data["buckets"] == 100 and data["duration"] == pytest.approx(3.0)
    cleaned, raw = np.array(data["cleaned"]), np.array(data["raw"])
    assert cleaned.shape == raw.shape == (100, 2)
    assert np.allclose(cleaned[:, 1], 0.3, atol=0.01)  # the tone's peak
    assert np.all(raw[:, 1] > cleaned[:, 1])  # the noise that was removed shows
    assert np.all(raw[:, 0] <= raw[:, 1])
    assert as_bob.get(f"/api/recordings/{rec.pk}/peaks/?buckets=5").status_code == 400
    assert as_bob.get(f"/api/recordings/{rec.pk}/peaks/?buckets=x").status_code == 400


async def test_client_gone_mid_read_closes_after_the_read(rec):
    """A cancelled download must not close the decoder under a running read (a crash)."""
    import asyncio
    import threading

    from recordings.ranges import Span, stream_bytes

    class SlowSource:
        size = 10_000_000

        def __init__(self) -> None:
            self.reading = threading.Event()
            self.events: list[str] = []

        def read(self, offset: int, length: int) -> bytes:
            self.reading.set()
            self.events.append("read start")
            threading.Event().wait(0.3)
            self.events.append("read end")
            return b"x" * length

        def close(self) -> None:
            self.events.append("close")

    source = SlowSource()

    async def allowed() -> bool:
        return True

    span = Span(0, source.size - 1, False, source.size)
    resp = stream_bytes(source, span, "a.wav", etag='"x"', download=False, may_read=allowed)
    it = resp.streaming_content.__aiter__()
    task = asyncio.ensure_future(it.__anext__())
    await asyncio.to_thread(source.reading.wait, 5)
    task.cancel()  # the client went away while the read runs in its thread
    with pytest.raises(asyncio.CancelledError):
        await task
    await it.aclose()
    await asyncio.sleep(0.5)
    assert source.events == ["read start", "read end", "close"]


@pytest.mark.parametrize(
    ("header", "status", "span"),
    [
        ("bytes=" + "9" * 4400 + "-", 416, None),
        ("bytes=0-" + "9" * 4400, 206, (0, 44 + 3 * RATE * 2 - 1)),
        ("bytes=-" + "9" * 4400, 206, (0, 44 + 3 * RATE * 2 - 1)),
        ("bytes=" + "0" * 4400 + "7-9", 206, (7, 9)),
        ("bytes=" + "9" * 30 + "-" + "1" * 30, 416, None),
    ],
)
def test_range_with_thousands_of_digits(rec, as_alice, header, status, span):
    as_alice.client.raise_request_exception = False
    resp = as_alice.get(f"/api/recordings/{rec.pk}/audio/", HTTP_RANGE=header)
    assert resp.status_code == status
    if span is None:
        assert resp.json()["error"] == "Requested range not satisfiable."
    else:
        assert resp["Content-Range"] == f"bytes {span[0]}-{span[1]}/{44 + 3 * RATE * 2}"
