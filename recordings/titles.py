"""Recording titles: what a title may hold (:func:`check_title`), and the title an import
gets when none is given (:func:`default_title`)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from django.utils import timezone

from fc25_denoise.api import BadRequest

TITLE_MAX = 200

_NOT_IN_TITLES = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories a title may not hold: control characters (C0 and C1: tab, newline,
terminal escape sequences), lone surrogates (no database can store them: SQLite and
PostgreSQL refuse to encode one) and line/paragraph separators.
Format characters (Cf: zero-width joiners of emoji, bidi marks of right-to-left
scripts) are kept; a download's file name is made of letters and digits anyway."""


def check_title(title: str, field: str = "title") -> str:
    """``title`` stripped, if it may be a recording's title: 1..:data:`TITLE_MAX` characters
    (code points) with none of the categories in :data:`_NOT_IN_TITLES`.

    Raises:
        BadRequest: empty, too long, or holding such a character (naming ``field``).
    """
    title = title.strip()
    if not title:
        raise BadRequest(f"Field {field} must not be empty.", {field: ["Must not be empty."]})
    if len(title) > TITLE_MAX:
        raise BadRequest(
            f"Field {field} is too long (at most {TITLE_MAX} characters).",
            {field: [f"At most {TITLE_MAX} characters."]},
        )
    bad = next((c for c in title if unicodedata.category(c) in _NOT_IN_TITLES), None)
    if bad is not None:
        raise BadRequest(
            f"Field {field} must not contain control characters (found U+{ord(bad):04X}).",
            {field: ["Must not contain control characters."]},
        )
    return title


def default_title(filename: str) -> str:
    """An import's title when none is given: the file name's stem without the characters
    :func:`check_title` refuses (a file name is not typed as a title), or the time."""
    stem = "".join(
        c for c in Path(filename or "").stem if unicodedata.category(c) not in _NOT_IN_TITLES
    ).strip()
    return (stem or f"Import {timezone.localtime():%Y-%m-%d %H:%M}")[:TITLE_MAX].strip()
