"""With DEBUG on, the technical 500 page hides connection strings and their passwords."""

import sys

from django.conf import settings
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter

from fc25_denoise.errorfilter import scrub

DB_PW = "db-s3cret-pw"
REDIS_PW = "redis-s3cret-pw"
DB_URL = f"postgres://fc25:{DB_PW}@db.internal:5432/fc25"
REDIS_URL = f"redis://:{REDIS_PW}@cache.internal:6379/0"


def _debug_page() -> str:
    request = RequestFactory().get("/boom/", HTTP_X_BACKEND=DB_URL)
    request.META["DATABASE_URL"] = DB_URL  # runserver copies the environment into META
    connection = REDIS_URL  # a local variable in the failing frame
    try:
        raise RuntimeError(f"cannot connect to {connection.split('@')[-1]}")
    except RuntimeError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    return reporter.get_traceback_html()


@override_settings(
    DEBUG=True,
    DATABASE_URL=DB_URL,
    REDIS_URL=REDIS_URL,
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": REDIS_URL,
        }
    },
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    },
    SENTRY_DSN=f"https://key:{DB_PW}@sentry.example.org/1",
)
def test_debug_page_hides_passwords():
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == (
        "fc25_denoise.errorfilter.ConnectionStringFilter"
    )
    html = _debug_page()
    assert "cannot connect to cache.internal" in html  # the page itself did render
    assert "DATABASE_URL" in html and "CHANNEL_LAYERS" in html
    assert DB_PW not in html
    assert REDIS_PW not in html


def test_scrub_keeps_everything_but_the_password():
    assert scrub(DB_URL) == "postgres://fc25:********************@db.internal:5432/fc25"
    assert scrub("redis://cache:6379/0") == "redis://cache:6379/0"
    assert scrub("see https://example.org/a@b") == "see https://example.org/a@b"
