"""HTML pages. Each page is a thin template; its ES module talks to the JSON API.

The views only decide *which* page to show (login required, safe ``next``
target, canonical user name); all data is fetched by the page's script.
"""

from __future__ import annotations

from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from fc25_denoise.api import NotFound
from users.services import get_user

DEFAULT_NEXT = "/"


def safe_next(request: HttpRequest) -> str:
    """The ``next`` query parameter if it is a same-site relative path, else ``/``.

    Browsers resolve ``.`` and ``..`` segments and read ``\\`` as ``/`` before they
    navigate, so ``/.//evil.example/`` would become the off-site ``//evil.example/``:
    a target with any of those, or with an empty segment, is refused outright.
    """
    target = request.GET.get("next", "")
    # Percent-encoded dots are dot segments to a browser too.
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    segments = path.split("/")[1:]
    if (
        target.startswith("/")
        and "\\" not in path
        and not any(seg in ("", ".", "..") for seg in segments[:-1])
        and segments[-1] not in (".", "..")
        and url_has_allowed_host_and_scheme(target, allowed_hosts=None)
    ):
        return target
    return DEFAULT_NEXT


@require_safe
@ensure_csrf_cookie
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    return render(request, "frontend/login.html", {"next_url": next_url})


@require_safe
@ensure_csrf_cookie
def register_page(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url)
    return render(request, "frontend/register.html", {"next_url": next_url})


@require_safe
@ensure_csrf_cookie
@login_required
def main_page(request: HttpRequest) -> HttpResponse:
    return render(request, "frontend/main.html")


@require_safe
@ensure_csrf_cookie
@login_required
def friend_page(request: HttpRequest, username: str) -> HttpResponse:
    """A friend's page; the script decides whether you are friends (and updates live)."""
    try:
        other = get_user(username)
    except NotFound:
        raise Http404("No such user.") from None
    if other.pk == request.user.pk:
        return redirect("frontend:main")
    return render(request, "frontend/friend.html", {"friend_name": other.get_username()})


@require_safe
@ensure_csrf_cookie
@login_required
def recordings_page(request: HttpRequest) -> HttpResponse:
    """Your and your friends' recordings; ``#<id>`` in the URL selects one (script side)."""
    # The import form refuses a file over the limit before sending it: through the proxy
    # (request bodies unbuffered) an upload cut off at the limit reads as "cannot reach the
    # server", after minutes of sending.
    return render(
        request, "frontend/recordings.html", {"upload_max_bytes": settings.UPLOAD_MAX_BYTES}
    )
