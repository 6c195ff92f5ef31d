"""The one failed-login throttle, applied inside authentication so every login path has it.

Policy (README "Login throttle"):

* **(account, client) pair**: at most ``LOGIN_RATE_LIMIT`` password checks that fail per
  user name and client address in ``LOGIN_RATE_WINDOW`` seconds. Then that client may not
  try that name again until the window ends, not even with the right password (so the
  answer never tells a guesser that the last guess was right).
* **client**: at most ``LOGIN_CLIENT_LIMIT`` failed checks per client address across all
  names in the window (stops one client spraying a few passwords over many accounts). It is
  higher than the pair limit, so a few forgotten passwords on a shared (NAT) address never
  block the others there.
* There is **no lock per account alone**: failures from one client never refuse the
  account's owner on another client, nor another user on the same client below the client
  cap. A distributed guesser gets ``LOGIN_RATE_LIMIT`` tries per address it controls.

* **password checks per client**: at most ``LOGIN_CHECKS_PER_MINUTE`` checks, right or
  wrong, per client address per minute. A check costs a quarter second of CPU (PBKDF2), so
  a client looping over a right password would otherwise hold cores as a guesser would.
* **registrations per client**: at most ``REGISTER_CLIENT_LIMIT`` accounts made per client
  address in ``REGISTER_WINDOW`` (:func:`may_register`): each costs a password hash, a
  database connection while it runs, and makes an account whose own limits (streams, TURN
  quota) would otherwise multiply. An attempt the name or password checks refuse does
  not count.

Unknown user names are counted exactly like known ones, so answers never reveal whether an
account exists. Atomic: each attempt first takes a slot with one atomic increment per
counter and only then checks the password; an attempt whose increment passed a limit gives
its slot back and is refused without a check, so N parallel wrong passwords get at most
the limit checked. Counters live in Django's cache: Redis when ``REDIS_URL`` is set (shared
by all server processes), else per process.

Why not django-axes: it checks the lock before authenticating and records the failure after
it (a signal), so a parallel burst gets past the limit (jazzband/django-axes#592, closed
"known issue, won't fix"), and it has one failure limit for all its lockout parameters, not
a low pair limit beside a higher per-client cap.

Client: ``REMOTE_ADDR``, or with ``PROXY_COUNT`` = n > 0 trusted reverse proxies in front,
the n-th address from the right of ``X-Forwarded-For`` (the one the outermost trusted proxy
saw; entries to its left are whatever the client sent); an IPv6 client is counted by its
/64 (:func:`client_key`).
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from fc25_denoise import cachecount

from .models import username_key

_REFUSED_ATTR = "_fc25_login_refused"
REFUSED_MESSAGE = "Too many failed logins. Wait a few minutes and try again."


def client_address(request: HttpRequest) -> str:
    """The client's IP address as this deployment can trust it (see the module doc)."""
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies: int = settings.PROXY_COUNT
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    hops = [h for h in hops if h]
    if len(hops) < proxies:
        return remote  # not through all the configured proxies: nothing to trust
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


IPV6_CLIENT_PREFIX = 64
"""An IPv6 client is counted by its /64: one host is usually given a whole /64, so each of
its addresses counted alone would give one guesser 2**64 budgets."""


def client_key(address: str) -> str:
    """What one client's failures are counted under: an IPv4 address, an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown" (no REMOTE_ADDR): counted together
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


REGISTER_REFUSED_MESSAGE = "Too many new accounts from your address. Try again later."
CHECK_WINDOW_S = 60
"""The window of ``LOGIN_CHECKS_PER_MINUTE``."""


def _keys(username: str, address: str) -> tuple[str, str]:
    # Every form of a name that logs in to one account shares its counters.
    name = hashlib.sha256(username_key(username.strip()).encode()).hexdigest()[:32]
    client = client_key(address)
    return f"login-fail:pair:{name}:{client}", f"login-fail:client:{client}"


def acquire(username: str, address: str) -> bool:
    """Take a slot for one password check; False (nothing counted) if a limit is used up.

    A taken slot stays counted as a failure unless :func:`succeeded` gives it back; the
    check itself stays counted in the client's checks of the minute either way.
    """
    window: int = settings.LOGIN_RATE_WINDOW
    pair_key, failures_key = _keys(username, address)
    checks_key = f"login-checks:{client_key(address)}"
    taken = [
        (pair_key, cachecount.take(pair_key, window), settings.LOGIN_RATE_LIMIT),
        (failures_key, cachecount.take(failures_key, window), settings.LOGIN_CLIENT_LIMIT),
        (
            checks_key,
            cachecount.take(checks_key, CHECK_WINDOW_S),
            settings.LOGIN_CHECKS_PER_MINUTE,
        ),
    ]
    if any(count > limit for _, count, limit in taken):
        for key, _, _ in taken:
            cachecount.give_back(key)
        return False
    return True


def may_register(address: str) -> bool:
    """Take a registration for client ``address``; False (nothing counted) once its
    ``REGISTER_CLIENT_LIMIT`` of the window are used. Taken before the name and password
    are checked, so parallel attempts cannot pass the limit together; one they refuse is
    given back (:func:`registration_refused`): only accounts made count."""
    key = _register_key(address)
    if cachecount.take(key, settings.REGISTER_WINDOW) > settings.REGISTER_CLIENT_LIMIT:
        cachecount.give_back(key)
        return False
    return True


def registration_refused(address: str) -> None:
    """Give back the registration :func:`may_register` took: no account was made (a name
    taken or refused, a password the validators refused)."""
    cachecount.give_back(_register_key(address))


def _register_key(address: str) -> str:
    return f"register:{client_key(address)}"


def succeeded(username: str, address: str) -> None:
    """The checked password was right: forget the pair's failures, free the client slot."""
    pair_key, client_key = _keys(username, address)
    cache.delete(pair_key)
    cachecount.give_back(client_key)


def was_refused(request: HttpRequest) -> bool:
    """True if the throttle refused this request's last authentication attempt."""
    return bool(getattr(request, _REFUSED_ATTR, False))


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the throttle: every ``authenticate()`` call with a
    request (the API login, the admin login, any later login form) is counted.

    A refused attempt raises :class:`PermissionDenied`, which makes ``authenticate()``
    return None without asking other backends; :func:`was_refused` tells the view why. A
    checked wrong password raises it too, so a backend listed after this one (settings keep
    Django's ``ModelBackend`` there only to load sessions it logged in) never gets an
    unthrottled second check.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None or username is None or password is None:
            return super().authenticate(request, username, password, **kwargs)
        address = client_address(request)
        if not acquire(username, address):
            setattr(request, _REFUSED_ATTR, True)
            raise PermissionDenied(REFUSED_MESSAGE)
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            raise PermissionDenied("wrong user name or password")
        succeeded(username, address)
        return user
