"""Accounts and friends JSON API (contract: ../shared/API.md). Thin: check, call, reply."""

from __future__ import annotations

from django.contrib.auth import authenticate, logout
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.views.decorators.csrf import ensure_csrf_cookie

from fc25_denoise.api import ApiError, TooMany, api_view, check_str, parse_json_body

from . import presence, services, throttle
from .models import FriendRequest, User, column_width

PASSWORD_MAX = 4096  # longer than any real password; bounds hashing work
NAME_MAX = column_width("username")
"""Longest user name accepted as typed (its stored forms are checked by the services)."""


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@ensure_csrf_cookie
@api_view("GET", login=False)
def csrf(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"csrfToken": get_token(request)})


@api_view("POST", login=False)
def register(request: HttpRequest) -> HttpResponse:
    data = parse_json_body(request)
    username = check_str(data, "username", max_length=NAME_MAX)
    password = check_str(data, "password", max_length=PASSWORD_MAX, strip=False)
    address = throttle.client_address(request)
    if not throttle.may_register(address):
        raise TooMany(throttle.REGISTER_REFUSED_MESSAGE)
    try:
        user = services.do_register(username, password)
    except (ApiError, ValidationError):  # no account made: the attempt does not count
        throttle.registration_refused(address)
        raise
    services.do_login(request, user, backend="users.throttle.ThrottledModelBackend")
    return JsonResponse({"username": user.username}, status=201)


@api_view("POST", login=False)
def login_view(request: HttpRequest) -> HttpResponse:
    data = parse_json_body(request)
    username = check_str(data, "username", max_length=NAME_MAX)
    password = check_str(data, "password", max_length=PASSWORD_MAX, strip=False)
    # The throttle runs inside authenticate() (users.throttle), for every login path.
    user = authenticate(request, username=username, password=password)
    if throttle.was_refused(request):
        raise TooMany(throttle.REFUSED_MESSAGE)
    if user is None:
        return JsonResponse({"error": "Invalid user name or password."}, status=401)
    services.do_login(request, user)
    return JsonResponse({"username": user.get_username()})


@api_view("POST", login=False)
def logout_view(request: HttpRequest) -> HttpResponse:
    # One transaction: the revocations the logout signal queues (streams.access) go out
    # after the session is deleted, so a listen answered meanwhile either is revoked or
    # finds its session gone (streams.views.listen).
    with transaction.atomic():
        logout(request)
    return HttpResponse(status=204)


@api_view("GET")
def me(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    user.refresh_from_db(fields=["is_streaming"])
    return JsonResponse({"username": user.username, "is_streaming": user.is_streaming})


@api_view("GET")
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:NAME_MAX]
    results = services.search_users(_user(request), query)
    return JsonResponse(
        {
            "results": [
                {
                    "username": r.username,
                    "is_friend": r.is_friend,
                    "request_pending": r.request_pending,
                }
                for r in results
            ]
        }
    )


@api_view("GET")
def friends(request: HttpRequest) -> HttpResponse:
    people = services.list_friends(_user(request))
    online = presence.online_ids([u.pk for u in people])
    return JsonResponse(
        {
            "friends": [
                {
                    "username": u.username,
                    "is_streaming": u.is_streaming,
                    "last_seen": u.last_seen.isoformat() if u.last_seen else None,
                    "online": u.pk in online,
                }
                for u in people
            ]
        }
    )


@api_view("DELETE")
def unfriend(request: HttpRequest, username: str) -> HttpResponse:
    services.do_unfriend(_user(request), username)
    return HttpResponse(status=204)


def _request_json(fr: FriendRequest) -> dict[str, object]:
    return {"id": fr.pk, "to_user": fr.to_user.username, "status": fr.status}


@api_view("GET", "POST", "DELETE")
def requests_collection(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if request.method == "DELETE":
        # API.md's DELETE /api/friends/USERNAME/ for a friend named "requests", whose
        # route this one shadows (the name is refused now; older accounts may hold it).
        services.do_unfriend(user, "requests")
        return HttpResponse(status=204)
    if request.method == "GET":
        incoming, outgoing = services.pending_requests(user)
        return JsonResponse(
            {
                "incoming": [
                    {
                        "id": r.pk,
                        "from_user": r.from_user.username,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in incoming
                ],
                "outgoing": [
                    {
                        "id": r.pk,
                        "to_user": r.to_user.username,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in outgoing
                ],
            }
        )
    data = parse_json_body(request)
    to_user = check_str(data, "to_user", max_length=NAME_MAX)
    outcome = services.do_send_friend_request(user, to_user)
    if outcome.accepted_crossing:
        return JsonResponse({"id": outcome.request.pk, "status": "accepted"}, status=200)
    return JsonResponse(_request_json(outcome.request), status=201)


@api_view("POST")
def accept(request: HttpRequest, request_id: int) -> HttpResponse:
    fr = services.do_respond(_user(request), request_id, accept=True)
    return JsonResponse({"id": fr.pk, "status": fr.status, "from_user": fr.from_user.username})


@api_view("POST")
def reject(request: HttpRequest, request_id: int) -> HttpResponse:
    fr = services.do_respond(_user(request), request_id, accept=False)
    return JsonResponse({"id": fr.pk, "status": fr.status, "from_user": fr.from_user.username})


@api_view("DELETE")
def cancel(request: HttpRequest, request_id: int) -> HttpResponse:
    services.do_cancel_request(_user(request), request_id)
    return HttpResponse(status=204)
