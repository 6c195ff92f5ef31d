"""Read an S3 object at arbitrary offsets with HTTP Range GETs.

django-storages' ``S3File`` downloads the whole object on first read, so a
player seeking in an hour-long recording would fetch ~100 MB per seek. This
file object fetches only what is read, in blocks of ``BLOCK`` bytes (FLAC
seeking makes several small reads close together; one block serves them), the first of
``FIRST_BLOCK``.
"""

from __future__ import annotations

import io
from typing import Any

from botocore.exceptions import ClientError
from storages.utils import clean_name

BLOCK = 512 * 1024
FIRST_BLOCK = 64 * 1024
"""The first fetch of a file is smaller: a HEAD or a revalidation reads only the header (a
WAV rendering's size is in FLAC's STREAMINFO), a short range only its few bytes."""


class S3RangeFile(io.RawIOBase):
    """A read-only, seekable file over one S3 object."""

    def __init__(self, storage: Any, name: str) -> None:
        """Raises FileNotFoundError when the object does not exist."""
        super().__init__()
        self._obj = storage.bucket.Object(storage._normalize_name(clean_name(name)))
        try:
            self.size: int = int(self._obj.content_length)
        except ClientError as err:
            if err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise FileNotFoundError(name) from None
            raise
        self._pos = 0
        self._block_start = -1
        self._block = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _fetch(self, start: int) -> None:
        """Load the block at ``start``.

        Raises:
            FileNotFoundError: the object is gone (deleted while it was read).
            OSError: the store sent no bytes for a range inside the object (it shrank, or
                misbehaves): without this check :meth:`read` would ask again forever.
        """
        end = min(start + (BLOCK if self._block_start >= 0 else FIRST_BLOCK), self.size) - 1
        try:
            body = self._obj.get(Range=f"bytes={start}-{end}")["Body"]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(self._obj.key) from None
            raise
        block = body.read()
        if not block:
            raise OSError(f"{self._obj.key}: no bytes at offset {start} of {self.size}")
        self._block, self._block_start = block, start

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        out = bytearray()
        while size > 0 and self._pos < self.size:
            inside = self._block_start <= self._pos < self._block_start + len(self._block)
            if not inside:
                self._fetch(self._pos)
            offset = self._pos - self._block_start
            chunk = self._block[offset : offset + size]
            out += chunk
            self._pos += len(chunk)
            size -= len(chunk)
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
