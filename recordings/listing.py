"""The recordings list, a page at a time (``GET /api/recordings/?limit=&before=``).

Keyset pages in the list's order (newest first: ``-created_at, -id``). A page's ``next``
cursor names its last recording's position, not an offset, so recordings created or
deleted meanwhile neither repeat nor skip an older one on the next page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q

from fc25_denoise.api import BadRequest
from users.models import User

from .models import StreamRecording
from .services import visible_recordings

PAGE_DEFAULT = 100
"""Recordings in a page when the request names no ``limit``."""
PAGE_MAX = 500
"""The largest ``limit`` a request may ask for: one page's queries and JSON stay bounded
whatever the history of the user and their friends."""

_CURSOR = re.compile(r"(-?[0-9]{1,19})-([0-9]{1,19})")
"""A cursor, matched whole (``fullmatch``): ASCII digits only (``\\d`` takes any script's)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Position:
    """Where a recording sits in the list: its ``created_at`` and ``id``."""

    created_at: datetime
    id: int

    def cursor(self) -> str:
        """``"<microseconds since the epoch>-<id>"`` (negative before 1970, a date an
        administrator may set): digits and dashes only, safe in a URL."""
        return f"{(self.created_at - _EPOCH) // _MICROSECOND}-{self.id}"


def parse_limit(value: str | None) -> int:
    """``limit`` from the query string.

    Raises:
        BadRequest: not an integer from 1 to :data:`PAGE_MAX`.
    """
    if value is None:
        return PAGE_DEFAULT
    # ASCII only: str.isdigit() also takes "²" and other digits int() refuses or reads.
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= PAGE_MAX:
        raise BadRequest(f"limit must be an integer from 1 to {PAGE_MAX}.")
    return int(value)


def parse_cursor(value: str | None) -> Position | None:
    """``before`` from the query string (a page's ``next``), or None.

    Raises:
        BadRequest: not a cursor this server hands out.
    """
    if value is None:
        return None
    match = _CURSOR.fullmatch(value)
    if match is None:
        raise BadRequest("before must be the 'next' value of an earlier page.")
    micros, pk = (int(g) for g in match.groups())
    try:
        created = _EPOCH + micros * _MICROSECOND
    except OverflowError:
        raise BadRequest("before must be the 'next' value of an earlier page.") from None
    return Position(created, pk)


def recording_page(
    user: User, limit: int, before: Position | None
) -> tuple[list[StreamRecording], str | None]:
    """Up to ``limit`` recordings ``user`` may list, newest first, older than ``before``
    (from the newest when None); and the cursor of the next page (None: no more)."""
    rows = visible_recordings(user)
    if before is not None:
        rows = rows.filter(
            Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, id__lt=before.id)
        )
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    return page[:limit], Position(last.created_at, last.pk).cursor()
