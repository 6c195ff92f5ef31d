"""HTTP Range support for recordings: open a stored file as bytes, stream a span.

A "source" has ``size``, ``read(offset, length)`` and ``close()``: either the
stored file itself (``format=flac``) or a :class:`~.audio.WavRenderer` over it
(``format=wav``, the contract's default).

Validators: a strong ETag made from the storage name and the served format
(:func:`audio_etag`). No Last-Modified is sent: a storage's modification time is
not reliable everywhere, and the name already says everything.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import unicodedata
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import quote

from django.core.files.storage import default_storage
from django.http import HttpResponse, HttpResponseNotModified, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header, parse_etags

from fc25_denoise.threads import ThreadLane

from .audio import WavRenderer
from .s3range import S3RangeFile

CHUNK_BYTES = 256 * 1024
logger = logging.getLogger(__name__)

DOWNLOADS = ThreadLane("download", 8)
"""Opening, reading and closing stored audio for downloads: a lane of their own, so storage
calls that hang (a stalled S3 range read) hold only these threads, not the loop's default
executor that other work shares (aioice resolves STUN host names there)."""

RECHECK_S = 1.0
"""How often an open download asks again whether its reader may read the recording: a
friendship or session that ends stops the download within this long, as it does a listen."""

CACHE_CONTROL = "private, no-cache"
"""Audio is private, and revalidated each time: access can end."""

MayRead = Callable[[], Awaitable[bool]]
"""Whether the reader may still read (answered from the database, so awaited)."""
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FAR = 2**63
"""Stands in for a position with more digits than any file's size has."""


class ByteSource(Protocol):
    size: int

    def read(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


class StoredBytes:
    """A stored file read at arbitrary offsets."""

    def __init__(self, fh: IO[bytes] | S3RangeFile, size: int) -> None:
        self._fh = fh
        self.size = size

    def read(self, offset: int, length: int) -> bytes:
        self._fh.seek(offset)
        return self._fh.read(length)

    def close(self) -> None:
        self._fh.close()


def _local_path(name: str) -> Path | None:
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # remote storage (S3)
        return None


def open_audio(name: str, fmt: str) -> ByteSource:
    """Open stored file ``name`` as ``fmt`` ("wav" rendered, or "flac" as stored). Blocking.

    Raises:
        FileNotFoundError: missing from storage. AudioError: not decodable.
    """
    local = _local_path(name)
    if local is not None and not local.exists():
        raise FileNotFoundError(name)
    if fmt == "flac":
        if local is not None:
            return StoredBytes(local.open("rb"), local.stat().st_size)
        remote = _remote_file(name)
        return StoredBytes(remote, remote.size)
    if local is not None:
        return WavRenderer(local)
    fh = _remote_file(name)
    try:
        return _ClosingRenderer(fh)
    except BaseException:
        fh.close()
        raise


def _remote_file(name: str) -> S3RangeFile:
    """A ranged reader for remote (S3) storage: a seek fetches only what it reads."""
    return S3RangeFile(default_storage, name)


class _ClosingRenderer(WavRenderer):
    """A renderer that also closes the storage file it reads."""

    def __init__(self, fh: S3RangeFile) -> None:
        super().__init__(fh)  # type: ignore[arg-type]
        self._fh = fh

    def close(self) -> None:
        super().close()
        self._fh.close()


WAV_LAYOUT = 1
"""Revision of how :class:`~.audio.WavRenderer` lays a stored file out as WAV: bump it
when that changes the bytes served, so every rendered file's ETag changes with them."""


def audio_etag(name: str, fmt: str) -> str:
    """The strong ETag of stored file ``name`` served as ``fmt`` ("wav" or "flac").

    A stored name never changes content (a re-clean stores a new name and switches the
    row to it), so the name, the format and, for WAV, :data:`WAV_LAYOUT` identify the
    bytes. Hashed: the tag has only the characters an ETag may hold, and does not show
    storage names.
    """
    layout = WAV_LAYOUT if fmt == "wav" else 0
    digest = hashlib.sha256(f"{fmt}:{layout}:{name}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def if_none_match_hits(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` names ``etag`` or is ``*`` (weak comparison,
    RFC 9110 13.1.2): the client's copy is current, a 304 answers."""
    tags = parse_etags(header) if header else []
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def if_range_holds(header: str, etag: str) -> bool:
    """Whether a Range header may be honoured under ``If-Range: header`` (RFC 9110 13.1.5).

    Without If-Range, yes. With one, only if it is ``etag`` itself (strong comparison: a
    weak tag never holds); a date never does, as no Last-Modified is sent. When it does
    not hold, the client's partial copy is of other bytes: it gets the whole file (200).
    """
    return not header or header.strip() == etag


def not_modified(etag: str) -> HttpResponseNotModified:
    """A 304 carrying the headers a 200 would have that describe caching (RFC 9110 15.4.5)."""
    resp = HttpResponseNotModified()
    resp["ETag"] = etag
    resp["Cache-Control"] = CACHE_CONTROL
    return resp


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes outside the file (HTTP 416)."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    """Inclusive."""
    partial: bool
    total: int


def parse_range(header: str, size: int) -> Span:
    """The byte span to send for ``Range: header`` on a ``size``-byte file.

    A missing, malformed or multi-range header means the whole file (RFC 9110
    lets a server ignore Range). Raises RangeNotSatisfiable for a valid range
    outside the file, however many digits its positions have.
    """
    full = Span(0, size - 1, False, size)
    match = _RANGE.match(header.strip().replace(" ", "")) if header else None
    if match is None:
        return full
    first, last = (_position(g) for g in match.groups())
    if first is None and last is None:
        return full
    if first is None:  # suffix: the last N bytes
        assert last is not None
        n = last
        if n == 0:
            raise RangeNotSatisfiable
        return Span(max(size - n, 0), size - 1, True, size)
    start = first
    end = min(last, size - 1) if last is not None else size - 1
    if start >= size or (last is not None and last < start):
        raise RangeNotSatisfiable
    return Span(start, end, True, size)


def _position(digits: str) -> int | None:
    """A Range position (None if absent); thousands of digits (int() refuses more than
    4300) become :data:`_FAR`, past the end of any file."""
    if not digits:
        return None
    significant = digits.lstrip("0")
    return _FAR if len(significant) > 19 else int(significant or "0")


class _Guarded:
    """Serializes ``read`` and ``close`` of a source.

    When a client disconnects mid-download (every seek does), the response
    task is cancelled while a ``read`` may still be running in its worker
    thread; ``close`` from the cleanup must wait for it, or libsndfile frees
    the handle under the running read (a crash, not an exception).
    """

    def __init__(self, source: ByteSource) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._closed = False

    def read(self, offset: int, length: int) -> bytes:
        with self._lock:
            return b"" if self._closed else self._source.read(offset, length)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._source.close()


def _finish(source: _Guarded, on_close: Callable[[], None] | None) -> None:
    """Close ``source`` and call ``on_close`` (run once, by the body's finalizer)."""
    try:
        source.close()
    finally:
        if on_close is not None:
            on_close()


class _Body:
    """A download's body: Django iterates it, and closes it when the response ends, whether
    or not it was iterated (a client gone before the first byte): the source is closed
    and ``on_close`` called then, once. A response Django drops without closing it (a
    client gone while the view or a middleware still ran: the request's task is
    cancelled) does the same when it is collected."""

    def __init__(
        self,
        source: ByteSource,
        span: Span,
        may_read: MayRead,
        about: str,
        on_close: Callable[[], None] | None,
    ) -> None:
        self._source = _Guarded(source)
        self._span = span
        self._may_read = may_read
        self._about = about
        # The finalizer holds the source and callback, never the body, so the body can be
        # collected; close() runs it at once. A finalizer runs at most once, whoever calls.
        self._finish = weakref.finalize(self, _finish, self._source, on_close)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _chunks(self._source, self._span, self._may_read, self._about)

    def close(self) -> None:
        self._finish()


async def _chunks(
    source: _Guarded, span: Span, may_read: MayRead, about: str
) -> AsyncIterator[bytes]:
    checked = time.monotonic()
    try:
        pos = span.start
        while pos <= span.end:
            if time.monotonic() - checked >= RECHECK_S:
                if not await may_read():
                    # Cut short of its Content-Length: the client sees a failed download,
                    # not a complete file.
                    break
                checked = time.monotonic()
            try:
                data = await DOWNLOADS.run(source.read, pos, min(CHUNK_BYTES, span.end - pos + 1))
            except Exception as exc:
                # The file went from under the download (a delete or re-clean removed it,
                # the store failed): the response ends short of its length, as on a lost
                # access, with one line naming the recording instead of an ASGI traceback.
                logger.warning("%s download cut: the file could not be read: %r", about, exc)
                break
            if not data:
                break
            yield data
            pos += len(data)
    finally:
        await DOWNLOADS.run(source.close)


def stream_bytes(
    source: ByteSource,
    span: Span,
    filename: str,
    *,
    etag: str,
    download: bool,
    may_read: MayRead,
    about: str = "",
    on_close: Callable[[], None] | None = None,
) -> StreamingHttpResponse:
    """A 200/206 streaming response for ``span`` of ``source`` (closed when done), with
    ``etag`` (see :func:`audio_etag`).

    ``may_read`` is asked every :data:`RECHECK_S` while the response streams; once it
    answers False the response ends there, short of its length; so it does when a read
    fails (logged with ``about``, e.g. ``"[recording 7 user=bob]"``). ``on_close`` is
    called once when the response ends, however it ends (it was iterated or not).

    Sent with ``X-Accel-Buffering: no``: a buffering proxy (nginx by default) would read
    the whole span from us at once, into its own temp file, so the re-check would cut off
    nothing and slow clients would fill the proxy's disk.
    """
    resp = StreamingHttpResponse(
        _Body(source, span, may_read, about, on_close),
        status=206 if span.partial else 200,
        content_type=_content_type(filename),
    )
    _describe(resp, span, filename, etag=etag, download=download)
    return resp


def head_response(span: Span, filename: str, *, etag: str, download: bool) -> HttpResponse:
    """The answer to a HEAD for ``span``: every header :func:`stream_bytes` would send
    (``Content-Length`` of the span included) and no body; nothing is read."""
    resp = HttpResponse(status=206 if span.partial else 200, content_type=_content_type(filename))
    _describe(resp, span, filename, etag=etag, download=download)
    return resp


def _content_type(filename: str) -> str:
    return "audio/flac" if filename.endswith(".flac") else "audio/wav"


def _describe(
    resp: HttpResponseBase, span: Span, filename: str, *, etag: str, download: bool
) -> None:
    """Set the headers a 200/206 for ``span`` carries, whatever its method."""
    resp["Accept-Ranges"] = "bytes"
    resp["Content-Length"] = str(span.end - span.start + 1)
    if span.partial:
        resp["Content-Range"] = f"bytes {span.start}-{span.end}/{span.total}"
    resp["Content-Disposition"] = content_disposition(filename, download=download)
    resp["Cache-Control"] = CACHE_CONTROL
    resp["ETag"] = etag
    resp["X-Accel-Buffering"] = "no"


_NOT_IN_FALLBACK = re.compile(r'(?:[^\x20-\x7e]|["\\;%/])+')
"""What an old client could misread in a quoted ``filename="..."``: anything but printable
ASCII, and the quote, backslash, parameter separator, percent escapes and path separator."""


def content_disposition(filename: str, *, download: bool) -> str:
    """The Content-Disposition value serving ``filename`` (RFC 6266): ``attachment``
    (``download``) or ``inline``, then ``filename="..."``; when that cannot carry the exact
    name it holds an ASCII stand-in for old clients and ``filename*=utf-8''...`` follows
    with the name percent-encoded (what browsers use).

    The value is printable ASCII whatever ``filename`` holds (any script, quotes,
    backslashes, ';', CR/LF), so it can neither end the header nor add parameters. A
    non-Latin-1 value would make Django MIME-encode the whole header (``=?utf-8?b?...?=``),
    which browsers do not decode: the download lost ``attachment`` and its name.
    """
    fallback = _ascii_fallback(filename)
    plain = content_disposition_header(download, fallback)
    assert plain is not None  # None only for an empty name; the stand-in never is
    if fallback == filename:
        return plain
    # safe="" encodes "/" too: RFC 8187 leaves only attr-chars unencoded.
    return f"{plain}; filename*=utf-8''{quote(filename, safe='')}"


def _ascii_fallback(filename: str) -> str:
    """``filename`` in printable ASCII without characters of :data:`_NOT_IN_FALLBACK`:
    accents dropped ("Café" -> "Cafe"), each other run of them as one "_", and a stem with
    no letter or digit left (a Cyrillic or CJK title) as "recording"; the extension kept."""
    decomposed = unicodedata.normalize("NFKD", filename)
    unaccented = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_name = _NOT_IN_FALLBACK.sub("_", unaccented)
    stem, dot, ext = ascii_name.rpartition(".")
    if not dot:
        stem, ext = ascii_name, ""
    if not any(c.isalnum() for c in stem):
        stem = "recording"
    return f"{stem}{dot}{ext}"
