"""A throw-away Django database for benchmarks that build their own rows.

:func:`on_scratch_database` configures the project's settings on a temporary data folder
and either a temporary SQLite file or, when ``DATABASE_URL`` is set, a scratch database
beside the one it names (created here and dropped afterwards, whatever happens), then
runs the benchmark.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit


def scratch_database_url(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def setup_django(data_dir: str, pg_url: str | None) -> None:
    """Configure the project's settings on a scratch data folder (and database)."""
    os.environ["FC25_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fc25_denoise.settings")
    if pg_url:
        os.environ["DATABASE_URL"] = pg_url
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()


def on_scratch_database(prefix: str, run: Callable[[], None]) -> None:
    """Run ``run`` with Django set up on a scratch database named after ``prefix``."""
    base_url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
        if not base_url:
            setup_django(tmp, None)
            run()
            return
        import psycopg

        name = f"{prefix.replace('-', '_')}_{os.getpid()}"
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            setup_django(tmp, scratch_database_url(base_url, name))
            run()
        finally:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(base_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
