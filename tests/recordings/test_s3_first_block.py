"""Reading an S3 object (recordings/s3range.py) fetches a small first block, then large
ones: a HEAD or a short range reads a header's worth, a stream reads in 512 KB blocks."""

from __future__ import annotations

import io
from typing import Any

from recordings.s3range import BLOCK, FIRST_BLOCK, S3RangeFile


class FakeObject:
    """An S3 object as boto3's ``Object`` shows it: its length, and ranged GETs (logged)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.key = "recordings/1/x.flac"
        self.content_length = len(data)
        self.ranges: list[tuple[int, int]] = []

    def get(self, Range: str) -> dict[str, Any]:  # boto3 names it Range
        first, last = (int(n) for n in Range.removeprefix("bytes=").split("-"))
        self.ranges.append((first, last))
        return {"Body": io.BytesIO(self.data[first : last + 1])}


class FakeStorage:
    def __init__(self, obj: FakeObject) -> None:
        self.bucket = self
        self._obj = obj

    def Object(self, key: str) -> FakeObject:  # boto3 names it Object
        return self._obj

    def _normalize_name(self, name: str) -> str:
        return name


def test_the_first_fetch_is_small_and_the_rest_large() -> None:
    data = bytes(range(256)) * 8192  # 2 MB
    obj = FakeObject(data)
    f = S3RangeFile(FakeStorage(obj), "x.flac")
    assert f.read(42) == data[:42]  # a header
    assert obj.ranges == [(0, FIRST_BLOCK - 1)]
    assert f.read(FIRST_BLOCK) == data[42 : 42 + FIRST_BLOCK]
    assert obj.ranges[1] == (FIRST_BLOCK, FIRST_BLOCK + BLOCK - 1)
    f.seek(len(data) - 10)
    assert f.read() == data[-10:]  # the last block is cut at the end
    assert obj.ranges[-1] == (len(data) - 10, len(data) - 1)
