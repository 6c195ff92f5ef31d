"""Django admin only from the networks a deployment names (``FC25_ADMIN_NETWORKS``).

The admin sits behind its own login and the login throttle; on a public server a
deployment can also keep it off the internet: a request for ``/admin/`` from a client
outside those networks gets the site's 404, as if there were no admin, so the login form
is not there to guess at. The client is the one the throttle counts
(:func:`users.throttle.client_address`: ``REMOTE_ADDR``, or the address the trusted
proxies saw). No networks named: the admin answers everyone, behind its login.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from users.throttle import client_address

ADMIN_PREFIX = "/admin/"
"""Where fc25_denoise/urls.py mounts the admin."""


def admin_reachable(request: HttpRequest) -> bool:
    """Whether this request's client may reach the admin (see the module)."""
    networks = settings.ADMIN_NETWORKS
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False  # no address to check ("unknown"): not from a named network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


class AdminNetworks:
    """Middleware: 404 for ``/admin/`` outside ``ADMIN_NETWORKS`` (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        # "/admin" too: its redirect to "/admin/" (APPEND_SLASH) would say there is one.
        is_admin = path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/")
        if is_admin and not admin_reachable(request):
            raise Http404("No such page.")
        return self.get_response(request)
