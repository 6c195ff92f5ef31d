"""Small typed readers for settings from the environment.

Each helper fails loudly (:class:`ImproperlyConfigured`) on a value it cannot
parse, so a typo in deployment config stops the server at start instead of
silently falling back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or ``default`` when unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    """Parse 1/0, true/false, yes/no, on/off (case-insensitive).

    Raises:
        ImproperlyConfigured: any other value.
    """
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Parse an integer, optionally bounded.

    Raises:
        ImproperlyConfigured: not an integer, below ``minimum`` or above ``maximum``.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} must be at most {maximum}")
    return value


def env_float(name: str, default: float, *, lo: float, hi: float) -> float:
    """Parse a float within [lo, hi].

    Raises:
        ImproperlyConfigured: not a number or out of range.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise ImproperlyConfigured(f"{name}={value} must be between {lo} and {hi}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated list; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (``10.0.5.7``, ``10.0.5.0/24``, ``fd00::/8``);
    none when unset.

    Raises:
        ImproperlyConfigured: an item is neither.
    """
    out = []
    for item in env_list(name, []):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network (10.0.5.0/24)."
            ) from None
    return tuple(out)


def env_public_url(name: str) -> SplitResult | None:
    """An ``http(s)://host[:port]`` origin (a trailing ``/`` is allowed), or None when unset.

    Raises:
        ImproperlyConfigured: another scheme, no host, or a path, query, fragment or user.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an http(s)://host URL")
    try:
        parts.port  # noqa: B018 - parsing the port raises on a bad one
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} has a bad port") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ImproperlyConfigured(f"{name}={raw!r} must be only scheme://host[:port]")
    return parts


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``.

    Raises:
        ImproperlyConfigured: any other value.
    """
    value = os.environ.get(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}")
    return value


def env_ip(name: str) -> str:
    """An IPv4 or IPv6 address, or "" when unset.

    Raises:
        ImproperlyConfigured: not an IP address (a host name is not accepted:
        ICE candidates carry addresses).
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} must be an IP address") from None


def secret_key(data_dir: Path, *, allow_local: bool) -> str:
    """``SECRET_KEY`` from the environment.

    With ``allow_local`` (set by ``make run`` / tests only) a random key is
    generated once and kept in ``data_dir/secret_key`` so sessions survive
    restarts. Without it a missing key is an error: production secrets come
    only from the environment.

    Raises:
        ImproperlyConfigured: no ``SECRET_KEY`` and local keys not allowed.
    """
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not allow_local:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set "
            "FC25_LOCAL_SECRET=1 to generate and keep a local one (development only)."
        )
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""Names a node is always reached by on its own port: the container health check
(deploy/healthcheck.py) and Prometheus send ``Host: 127.0.0.1:<port>``."""


def allowed_hosts(configured: list[str], public_url: SplitResult | None) -> list[str]:
    """``ALLOWED_HOSTS``: the ``configured`` names, then ``public_url``'s host, then
    :data:`LOOPBACK_HOSTS`, each once, in that order.

    The loopback names are always added: an operator listing only the public name would
    otherwise get 400 on every health check and scrape, and no node would become healthy.
    A client can send such a ``Host`` through a proxy that passes ``Host`` on (as the
    default list always allowed); nothing builds links from it, and the CSP's WebSocket
    source it names is that client's own.
    """
    hosts = list(configured)
    if public_url is not None:
        host = public_url.hostname or ""
        hosts.append(f"[{host}]" if ":" in host else host)  # an IPv6 address, bracketed
    hosts.extend(LOOPBACK_HOSTS)
    return list(dict.fromkeys(host for host in hosts if host))


_LIBPQ_KEYS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
        "options",
    }
)
"""Query-string keys of DATABASE_URL passed to libpq (the database's ``OPTIONS``)."""
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _libpq_options(query: str) -> dict[str, str]:
    """The connection options in DATABASE_URL's query string (values URL-decoded).

    Raises:
        ImproperlyConfigured: a key not in :data:`_LIBPQ_KEYS` (a typo such as ``sslmod``
        would otherwise drop TLS without a word), a key given twice or without a value,
        an ``sslmode`` libpq does not know, or a ``connect_timeout`` that is not a
        whole number of seconds. libpq would reject the last two only at the first
        query; here the server stops at start.
    """
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _LIBPQ_KEYS:
            raise ImproperlyConfigured(
                f"DATABASE_URL option {key!r} is not supported "
                f"(use {', '.join(sorted(_LIBPQ_KEYS))})"
            )
        if key in options:
            raise ImproperlyConfigured(f"DATABASE_URL option {key!r} is given more than once")
        if not value:
            raise ImproperlyConfigured(f"DATABASE_URL option {key!r} has no value")
        options[key] = value
    if options.get("sslmode", "prefer") not in _SSLMODES:
        raise ImproperlyConfigured(
            f"DATABASE_URL sslmode={options['sslmode']!r} must be one of {', '.join(_SSLMODES)}"
        )
    if not options.get("connect_timeout", "0").isdigit():
        raise ImproperlyConfigured(
            f"DATABASE_URL connect_timeout={options['connect_timeout']!r} "
            "must be a whole number of seconds"
        )
    return options


def database_from_url(url: str) -> dict[str, object]:
    """Django DATABASES entry for a ``postgres://user:pass@host:port/name[?key=value&...]``
    URL; the query's libpq keys (``sslmode``, ``sslrootcert``, ...) become ``OPTIONS``.

    Raises:
        ImproperlyConfigured: another scheme, no database name, or a query key that is
        unknown, repeated or has a bad value (see :func:`_libpq_options`).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL scheme {parts.scheme!r} is not supported (use postgres://)"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL has no database name")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": _libpq_options(parts.query),
        # No persistent connections: under ASGI every request's sync code runs on a
        # thread of its own, and a connection kept for reuse outlives its thread, open,
        # until the garbage collector frees it (Django ticket #33497; Django's docs say to
        # disable them under ASGI). Each request closes its connection when it ends; the
        # long-lived lanes (streams/dbtask.py, recordings/jobs.py, fc25_denoise/health.py)
        # close theirs around every call already. Not psycopg's pool: psycopg_pool is not
        # a dependency, and one pool per process would have to be sized against every
        # thread lane times every process, with a new way to fail (waiting for a free
        # connection); a connection to a nearby server costs a few milliseconds.
        "CONN_MAX_AGE": 0,
        "TEST": {"NAME": f"test_{name}"},
    }
