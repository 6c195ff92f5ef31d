"""ICE servers for the browser pages: STUN, plus short-lived TURN credentials.

TURN credentials follow coturn's REST API scheme (``use-auth-secret`` with
``static-auth-secret``): the user name is ``"<expiry unix time>:<user id>"`` and the
password is ``base64(HMAC-SHA1(secret, user name))``. coturn recomputes the HMAC with
the shared secret and refuses the credential once the expiry has passed, so nothing is
stored and a leaked credential stops working after ``FC25_TURN_TTL`` seconds.

``GET /api/webrtc/ice-servers/`` (logged in): ``{"iceServers": [...],
"iceTransportPolicy": "all" | "relay"}``, ready to pass to ``new RTCPeerConnection()``.
"relay" when ``FC25_FORCE_RELAY`` is on: the browser then sends media only through TURN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from fc25_denoise.api import api_view


def turn_credential(secret: str, user_id: int, ttl_s: int, now: float) -> tuple[str, str]:
    """coturn REST credentials valid until ``now + ttl_s``: (user name, password)."""
    username = f"{int(now) + ttl_s}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_config(user_id: int, now: float) -> dict[str, object]:
    """The RTCConfiguration subset for ``user_id``: STUN servers, then TURN when configured
    (``FC25_TURN_URLS`` and ``FC25_TURN_SECRET`` both set)."""
    servers: list[dict[str, object]] = []
    if settings.WEBRTC_STUN_URLS:
        servers.append({"urls": list(settings.WEBRTC_STUN_URLS)})
    if settings.TURN_URLS and settings.TURN_SECRET:
        username, credential = turn_credential(
            settings.TURN_SECRET, user_id, settings.TURN_TTL_S, now
        )
        servers.append(
            {"urls": list(settings.TURN_URLS), "username": username, "credential": credential}
        )
    policy = "relay" if settings.FORCE_RELAY else "all"
    return {"iceServers": servers, "iceTransportPolicy": policy}


@api_view("GET")
def ice_servers(request: HttpRequest) -> JsonResponse:
    """The logged-in user's ICE configuration (never cached: the credential expires)."""
    assert request.user.pk is not None
    response = JsonResponse(ice_config(request.user.pk, time.time()))
    response["Cache-Control"] = "no-store"
    return response
