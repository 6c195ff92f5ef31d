"""What the error report (Django's DEBUG 500 page and error e-mails) may show.

Django's own filter hides settings whose names look secret (KEY, PASS, TOKEN, ...). Here
also connection strings (``DATABASE_URL``, ``REDIS_URL``, anything named ``*URL*`` holding
credentials, ``DSN``, cache ``LOCATION``, channel layer ``hosts``), and the password of any
``scheme://user:password@host`` value wherever it appears (settings, request META, local
variables), so turning DEBUG on never prints them.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

# ``scheme://user:password@`` or ``scheme://:password@``: keep scheme and user, hide the rest.
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^@\s]*@", re.I)
_HIDDEN_NAMES = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|REDIS_URL|DSN",
    re.I,
)


def scrub(value: str) -> str:
    """``value`` with the password of every URL in it replaced by stars."""
    return _URL_CREDENTIALS.sub(
        lambda m: f"{m['head']}:{SafeExceptionReporterFilter.cleansed_substitute}@", value
    )


class ConnectionStringFilter(SafeExceptionReporterFilter):
    """:class:`SafeExceptionReporterFilter` that also hides connection strings."""

    hidden_settings = _HIDDEN_NAMES

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(value, str):
            value = scrub(value)
        return super().cleanse_setting(key, value)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
