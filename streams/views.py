"""Live-stream JSON API (contract: ../shared/API.md). Thin: check, call the hub/services, reply.

WebRTC views are async: aiortc objects must live on the server's event loop.
"""

from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from denoise.base import check_atten_lim
from denoise.registry import available_models
from fc25_denoise.api import BadRequest, Json, NotFound, api_view, check_number, parse_json_body
from fc25_denoise.runtime import live_hub
from users.logins import session_name
from users.models import User

from . import services
from .hub import LiveHub
from .webrtc.levels import Level, parse_level
from .webrtc.peer import OfferError, parse_offer


def _hub() -> LiveHub:
    return live_hub()


async def _user(request: HttpRequest) -> User:
    user = await request.auser()
    assert isinstance(user, User)
    return user


def _offer(data: Json):  # type: ignore[no-untyped-def]
    try:
        return parse_offer(data.get("sdp"), data.get("type"))
    except OfferError as exc:
        raise BadRequest(str(exc)) from None


@api_view("POST")
async def offer(request: HttpRequest) -> HttpResponse:
    user = await _user(request)
    rtc_offer = _offer(parse_json_body(request))
    started = await _hub().start(user, rtc_offer)
    return JsonResponse(
        {
            "sdp": started.answer.sdp,
            "type": started.answer.type,
            "session_id": str(started.session_id),
        }
    )


def _level(data: Json) -> Level:
    try:
        return parse_level(data.get("level", "full"))
    except ValueError as exc:
        raise BadRequest(f"{exc}.", {"level": [str(exc)]}) from None


@api_view("POST", "PATCH", "DELETE")
async def listen(request: HttpRequest, key: str) -> HttpResponse:
    """``POST …/listen/<username>/`` starts listening; ``PATCH`` and ``DELETE``
    ``…/listen/<listen_id>/`` switch its level and stop it."""
    user = await _user(request)
    if request.method != "POST":
        return await _listen_control(request, user, key)
    data = parse_json_body(request)
    rtc_offer = _offer(data)
    level = _level(data)
    broadcaster = await sync_to_async(services.check_can_listen)(user, key)
    # Served by the process hosting the stream, which checks access again once connected;
    # this process checks the session (a logout meanwhile).
    session = request.session.session_key
    listening = await _hub().listen(
        broadcaster.pk,
        user.pk,
        rtc_offer,
        level,
        session_key=session,
        login=session_name(request.session),
    )
    return JsonResponse(
        {
            "sdp": listening.answer.sdp,
            "type": listening.answer.type,
            "session_id": str(listening.session_id),
            "listen_id": str(listening.listen_id),
            "level": listening.level,
        }
    )


async def _listen_control(request: HttpRequest, user: User, key: str) -> HttpResponse:
    try:
        listen_id = uuid.UUID(key)
    except ValueError:
        raise NotFound("No such live listening connection.") from None
    if request.method == "DELETE":
        await _hub().end_listen(user, listen_id)
        return HttpResponse(status=204)
    data = parse_json_body(request)
    if "level" not in data:
        raise BadRequest("Send level.", {"level": ["This field is required."]})
    level = _level(data)
    await _hub().set_level(user, listen_id, level)
    return JsonResponse({"listen_id": str(listen_id), "level": level})


@api_view("POST")
async def stop(request: HttpRequest) -> HttpResponse:
    user = await _user(request)
    result = await _hub().stop(user.pk, "stopped by the broadcaster")
    return JsonResponse(
        {"recording_id": result.recording_id, "duration": result.duration, "stats": result.stats}
    )


@api_view("GET")
async def active(request: HttpRequest) -> HttpResponse:
    user = await _user(request)
    streams = await sync_to_async(services.live_friends)(user)
    hub = _hub()
    return JsonResponse(
        {
            "streams": [
                {
                    "username": s.user.username,
                    "session_id": str(s.session_id),
                    "started_at": s.started_at.isoformat(),
                    # Another process's stream: the count from its last heartbeat.
                    "listeners": hub.listeners(s.user_id)
                    if hub.session_for(s.user_id)
                    else s.listeners,
                }
                for s in streams
            ]
        }
    )


def _flag(data: Json, name: str) -> bool | None:
    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, bool):
        raise BadRequest(f"Field {name} must be true or false.", {name: ["Must be a boolean."]})
    return value


@api_view("GET", "PATCH")
async def stream_settings(request: HttpRequest) -> HttpResponse:
    user = await _user(request)
    if request.method == "PATCH":
        data = parse_json_body(request)
        atten = None
        if "atten_lim_db" in data:
            atten = check_atten_lim(check_number(data, "atten_lim_db", lo=6, hi=100))
        model = None
        if "model" in data:
            model = data["model"]
            if not isinstance(model, str) or model not in available_models():
                raise BadRequest(
                    f"Unknown model; choose one of {', '.join(available_models())}.",
                    {"model": ["Unknown model."]},
                )
        record_raw = _flag(data, "record_raw")
        share_raw = _flag(data, "share_raw")
        low_latency = _flag(data, "low_latency")
        flags = (record_raw, share_raw, low_latency)
        if atten is None and model is None and all(f is None for f in flags):
            raise BadRequest(
                "Send atten_lim_db, model, record_raw, share_raw and/or low_latency.",
                {"atten_lim_db": ["This field is required."]},
            )
        prefs = await sync_to_async(services.do_update_settings)(
            user, atten, model, record_raw, share_raw, low_latency
        )
        # Applied before the answer, in whichever server process hosts the stream.
        await _hub().apply_settings(user, atten, share_raw)
    else:
        prefs = await sync_to_async(services.broadcast_settings)(user)
    return JsonResponse(
        {
            "atten_lim_db": prefs.atten_lim_db,
            "model": prefs.model,
            "models": available_models(),
            "default_model": settings.DENOISE_MODEL,
            "record_raw": prefs.record_raw,
            "share_raw": prefs.share_raw,
            "low_latency": prefs.low_latency,
        }
    )
