"""A recording's file that goes from under a running download (a delete or a re-clean
removed it, the store failed) cuts the response short with one log line naming the
recording and reader; on S3 a range read of a deleted object is FileNotFoundError, and a
store that sends no bytes for a range inside the object is an error, not an endless loop."""

from __future__ import annotations

import io
import logging
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from recordings.ranges import CHUNK_BYTES, parse_range, stream_bytes
from recordings.s3range import BLOCK, S3RangeFile


class FailingSource:
    """A byte source whose file vanishes after the first chunk."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0
        self.closed = False

    def read(self, offset: int, length: int) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise FileNotFoundError("recordings/7.flac")
        return b"x" * length

    def close(self) -> None:
        self.closed = True


async def always() -> bool:
    return True


async def test_a_failed_read_cuts_the_download_and_names_it(caplog: Any) -> None:
    size = 3 * CHUNK_BYTES
    source = FailingSource(size)
    resp = stream_bytes(
        source,
        parse_range("", size),
        "take.flac",
        etag='"e"',
        download=False,
        may_read=always,
        about="[recording 7 user=bob]",
    )
    got = bytearray()
    with caplog.at_level(logging.WARNING, logger="recordings.ranges"):
        async for chunk in resp.streaming_content:
            got += chunk
    assert len(got) == CHUNK_BYTES < int(resp["Content-Length"])  # short: a failed download
    assert source.closed
    assert any(
        "[recording 7 user=bob] download cut" in r.getMessage()
        and "FileNotFoundError" in r.getMessage()
        for r in caplog.records
    )


class FakeObject:
    """An S3 object as boto3's resource API shows it: ``content_length`` and ranged ``get``."""

    def __init__(self, data: bytes, *, empty_bodies: bool = False) -> None:
        self.key = "recordings/7.flac"
        self.data: bytes | None = data
        self.content_length = len(data)
        self.empty_bodies = empty_bodies

    def get(self, Range: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        if self.data is None:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        if self.empty_bodies:
            return {"Body": io.BytesIO(b"")}
        start, end = (int(x) for x in Range.removeprefix("bytes=").split("-"))
        return {"Body": io.BytesIO(self.data[start : end + 1])}


def fake_storage(obj: FakeObject) -> Any:
    return SimpleNamespace(
        bucket=SimpleNamespace(Object=lambda key: obj), _normalize_name=lambda name: name
    )


def test_an_object_deleted_mid_read_is_file_not_found() -> None:
    obj = FakeObject(b"a" * (2 * BLOCK))
    fh = S3RangeFile(fake_storage(obj), "recordings/7.flac")
    assert fh.read(10) == b"a" * 10
    obj.data = None  # deleted: the next block's GET finds no key
    fh.seek(BLOCK)
    with pytest.raises(FileNotFoundError):
        fh.read(10)


def test_a_store_sending_no_bytes_is_an_error_not_a_loop() -> None:
    fh = S3RangeFile(fake_storage(FakeObject(b"a" * 100, empty_bodies=True)), "x")
    outcome: list[BaseException | bytes] = []

    def read() -> None:
        try:
            outcome.append(fh.read(10))
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "read() spun forever on empty bodies"
    assert isinstance(outcome[0], OSError)
