"""A download gives its slot back and closes its file however its response ends: closed by
Django (read or not), or dropped unclosed when the client went away while the request was
still being answered (Django then cancels the request and never closes the response),
which had kept the slot for good: eight such aborts and the user's downloads were 429."""

from __future__ import annotations

import gc

from recordings.downloads import DownloadSlots
from recordings.ranges import Span, stream_bytes


class File:
    size = 1000

    def __init__(self) -> None:
        self.closed = 0

    def read(self, offset: int, length: int) -> bytes:
        return b"\0" * length

    def close(self) -> None:
        self.closed += 1


async def allowed() -> bool:
    return True


def download(slots: DownloadSlots, source: File):
    assert slots.take(7, 1)
    return stream_bytes(
        source,
        Span(0, 999, False, 1000),
        "x.wav",
        etag='"e"',
        download=False,
        may_read=allowed,
        on_close=lambda: slots.give_back(7),
    )


def test_a_closed_response_gives_its_slot_back_once():
    slots, source = DownloadSlots(), File()
    resp = download(slots, source)
    assert not slots.take(7, 1)  # held
    resp.close()
    resp.close()
    assert source.closed == 1
    assert slots.take(7, 1) and not slots.take(7, 1)  # given back once, not twice


def test_a_response_dropped_unclosed_gives_its_slot_back():
    slots, source = DownloadSlots(), File()
    resp = download(slots, source)
    del resp
    gc.collect()
    assert source.closed == 1
    assert slots.take(7, 1)
