"""DATABASE_URL's query string: libpq connection keys (TLS, timeouts, ...) become the
database's OPTIONS; any other key, or one given twice, stops the server at start."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from fc25_denoise.env import database_from_url

BASE = "postgres://u:p@db.internal:5433/fc25"


def test_libpq_keys_become_options() -> None:
    db = database_from_url(
        f"{BASE}?sslmode=verify-full&sslrootcert=/x/ca.pem&sslcert=/x/c.pem&sslkey=/x/k.pem"
        "&connect_timeout=5&application_name=fc25+app1&target_session_attrs=read-write"
        "&options=-c%20statement_timeout%3D5000"
    )
    assert db["OPTIONS"] == {
        "sslmode": "verify-full",
        "sslrootcert": "/x/ca.pem",
        "sslcert": "/x/c.pem",
        "sslkey": "/x/k.pem",
        "connect_timeout": "5",
        "application_name": "fc25 app1",
        "target_session_attrs": "read-write",
        "options": "-c statement_timeout=5000",
    }
    assert (db["NAME"], db["HOST"], db["PORT"], db["USER"]) == ("fc25", "db.internal", "5433", "u")


def test_no_query_no_options() -> None:
    assert database_from_url(BASE)["OPTIONS"] == {}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("sslmod=require", "sslmod"),  # a typo must not silently drop TLS
        ("password=x", "password"),
        ("sslmode=require&sslmode=disable", "more than once"),
        ("sslmode=", "no value"),
        ("sslmode=strict", "sslmode"),
        ("connect_timeout=soon", "connect_timeout"),
    ],
)
def test_unknown_repeated_or_bad_keys_fail_loudly(query: str, says: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=says):
        database_from_url(f"{BASE}?{query}")
