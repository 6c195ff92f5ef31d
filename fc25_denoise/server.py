"""Adjustments to the HTTP server the app runs under (Daphne, on Twisted).

Twisted's request parses a POST's multipart or URL-encoded body into its own
``args`` before Daphne hands the body to the ASGI app. Daphne never reads those
``args``; the parse only costs a second in-memory copy of every upload, and a
multipart body Twisted cannot parse (no boundary) is answered with a bare 400
and a closed connection that Django never sees, so no JSON error. Django parses
the body itself, so Twisted's parse is switched off.
"""

from __future__ import annotations

import sys
from typing import Any


def leave_form_bodies_to_django() -> bool:
    """Stop Twisted parsing POST form bodies in Daphne's requests; False outside Daphne."""
    if "daphne.http_protocol" not in sys.modules:
        return False
    from daphne.http_protocol import WebRequest

    original = WebRequest.__init__
    if getattr(original, "leaves_forms_to_django", False):
        return True

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # Read by twisted.web.http.Request.requestReceived (Twisted >= 24.7).
        self._parsePOSTFormSubmission = False

    init.leaves_forms_to_django = True  # type: ignore[attr-defined]
    WebRequest.__init__ = init
    return True
