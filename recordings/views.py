"""Recordings JSON API (../shared/API.md "Recordings", extended in docs/recordings.md).

Thin: check the input, call :mod:`.services`, reply. Audio is streamed by an
async view so a long download never holds a worker thread or the whole file
in memory; each chunk is read in a worker thread.

The two views that queue a job (import, re-clean) need two things from outside
this app: the process's job runner and the user's default engine settings. They
get them as the ``wiring`` view argument (a :class:`JobWiring`), which the
composition root puts into the URL patterns (:func:`.urls.recording_urls`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase

from denoise.base import check_atten_lim
from denoise.registry import available_models
from fc25_denoise.api import (
    BadRequest,
    Conflict,
    Json,
    NotFound,
    TooMany,
    api_view,
    check_no_nul,
    check_number,
    check_str,
    is_head,
    parse_json_body,
)
from fc25_denoise.threads import run_on
from users.models import User

from . import listing, peaks, services
from .audio import AudioError, TooLongForWav
from .downloads import DOWNLOAD_CHECKS, SLOTS
from .jobs import job_json
from .models import StreamRecording
from .ranges import (
    DOWNLOADS,
    ByteSource,
    RangeNotSatisfiable,
    audio_etag,
    head_response,
    if_none_match_hits,
    if_range_holds,
    not_modified,
    open_audio,
    parse_range,
    stream_bytes,
)
from .runner import JobRunner

logger = logging.getLogger(__name__)

EngineDefaults = Callable[[User], tuple[str, float]]
"""``(model, atten_lim_db)`` for a user who names neither: their stream settings."""


@dataclass(frozen=True)
class JobWiring:
    """What the job-queueing views get from the composition root (``fc25_denoise/urls.py``)."""

    job_runner: Callable[[], JobRunner]
    """This process's job runner (created on first use)."""
    engine_defaults: EngineDefaults


def _check_model(value: Any) -> str:
    if not isinstance(value, str) or value not in available_models():
        raise BadRequest(
            f"Unknown model; choose one of {', '.join(available_models())}.",
            {"model": ["Unknown model."]},
        )
    return value


def _engine_choice(
    data: Json | dict[str, str], user: User, defaults: EngineDefaults
) -> tuple[str, float]:
    """``(model, atten_lim_db)`` from optional fields; ``defaults(user)`` for those omitted."""
    default_model, atten = defaults(user)
    model = _check_model(data["model"]) if data.get("model") else default_model
    if data.get("atten_lim_db") not in (None, ""):
        raw = data["atten_lim_db"]
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                raise BadRequest("Field atten_lim_db must be a number.") from None
        atten = check_atten_lim(check_number({"atten_lim_db": raw}, "atten_lim_db", lo=6, hi=100))
    return model, atten


@api_view("GET")
def recording_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    limit = listing.parse_limit(request.GET.get("limit"))
    before = listing.parse_cursor(request.GET.get("before"))
    page, next_cursor = listing.recording_page(user, limit, before)
    storage = {
        "used_bytes": services.storage_used(user.pk),
        "quota_bytes": settings.RECORDINGS_QUOTA_BYTES,
    }
    return JsonResponse(
        {
            "recordings": [services.recording_json(r, user.pk) for r in page],
            "next": next_cursor,
            "storage": storage,
        }
    )


@api_view("GET", "PATCH", "DELETE")
def recording_detail(request: HttpRequest, recording_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if request.method == "GET":
        rec = services.check_readable(user, recording_id)
        return JsonResponse(services.recording_json(rec, user.pk))
    if request.method == "PATCH":
        data = parse_json_body(request)
        title = check_str(data, "title", max_length=services.TITLE_MAX)
        rec = services.do_rename(services.check_owned(user, recording_id), title)
        return JsonResponse(services.recording_json(rec, user.pk))
    services.do_delete(services.check_owned(user, recording_id))
    return HttpResponse(status=204)


@api_view("POST")
def reclean(request: HttpRequest, recording_id: int, wiring: JobWiring) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    data = parse_json_body(request)
    model, atten = _engine_choice(data, user, wiring.engine_defaults)
    submit = wiring.job_runner().submit
    job = services.do_request_reclean(user, recording_id, model, atten, submit)
    return JsonResponse({"job": job_json(job)}, status=202)


@api_view("POST")
def import_recording(request: HttpRequest, wiring: JobWiring) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    # Oversized bodies never get here: fc25_denoise.limits cuts the request off
    # past the upload limit; do_import checks the file's own size.
    upload = request.FILES.get("file")
    if upload is None:
        raise BadRequest("Attach the audio file as the multipart field 'file'.")
    check_no_nul(upload.name or "", *(v for _, values in request.POST.lists() for v in values))
    title = request.POST.get("title", "")  # checked by do_import, as a rename's is
    model, atten = _engine_choice(request.POST.dict(), user, wiring.engine_defaults)
    rec = services.do_import(user, upload, title, model, atten, wiring.job_runner().submit)
    rec = services.check_readable(user, rec.pk)  # with its job prefetched
    return JsonResponse({"recording": services.recording_json(rec, user.pk)}, status=202)


def _version_file(rec: StreamRecording, version: str) -> str:
    if version not in ("cleaned", "raw"):
        raise BadRequest("version must be 'cleaned' or 'raw'.")
    field = rec.file if version == "cleaned" else rec.raw_file
    if field and field.name:
        return field.name
    if version == "cleaned" and rec.status == StreamRecording.Status.PROCESSING:
        raise Conflict("This recording is still being cleaned.")
    if version == "cleaned":
        raise NotFound("This recording has no cleaned version.")
    raise NotFound("This recording has no raw version.")


@api_view("GET")
async def recording_audio(request: HttpRequest, recording_id: int) -> HttpResponseBase:
    user = await request.auser()
    assert isinstance(user, User)
    fmt = request.GET.get("format", "wav")
    if fmt not in ("wav", "flac"):
        raise BadRequest("format must be 'wav' or 'flac'.")
    version = request.GET.get("version", "cleaned")
    rec = await run_on(DOWNLOAD_CHECKS, services.check_readable, user, recording_id)
    raw = version == "raw"
    if raw:  # before the file: whether a raw version exists is the owner's to share too
        services.check_raw_readable(rec, user.pk)
    name = _version_file(rec, version)
    etag = audio_etag(name, fmt)  # the file's name and format: known before it is opened
    if if_none_match_hits(request.headers.get("If-None-Match", ""), etag):
        return not_modified(etag)  # a revalidation reads nothing from storage
    # The slot before the file: opening reads storage (an S3 HEAD and a first block), which
    # a user past the limit, or probing with HEADs, must not get for free. A HEAD holds it
    # while the file is open only.
    limit = settings.MAX_DOWNLOADS_PER_USER
    if not SLOTS.take(user.pk, limit):
        raise TooMany(f"You have {limit} downloads open already; finish one first.")
    source = await _open_audio(name, fmt, user.pk)
    wanted = request.headers.get("Range", "")
    if not if_range_holds(request.headers.get("If-Range", ""), etag):
        wanted = ""
    try:
        span = parse_range(wanted, source.size)
    except RangeNotSatisfiable:
        await _close_before_body(source, user.pk)
        resp = JsonResponse({"error": "Requested range not satisfiable."}, status=416)
        resp["Content-Range"] = f"bytes */{source.size}"
        return resp
    filename = f"{_safe(rec.title)}{'-raw' if version == 'raw' else ''}.{fmt}"
    download = request.GET.get("download") == "1"
    if is_head(request):  # a player probing size and ranges: nothing is decoded
        await _close_before_body(source, user.pk)
        return head_response(span, filename, etag=etag, download=download)
    session_key = request.session.session_key

    async def may_read() -> bool:
        allowed = await run_on(
            DOWNLOAD_CHECKS, services.may_still_read, user, session_key, rec.pk, raw
        )
        if not allowed:
            logger.info("[recording %s user=%s] download cut: access ended", rec.pk, user)
        return allowed

    # Made before the next await: from here the response owns the slot and the source, and
    # gives both back when it is closed or, if a cancelled request drops it, collected.
    body = stream_bytes(
        source,
        span,
        filename,
        etag=etag,
        download=download,
        may_read=may_read,
        about=f"[recording {rec.pk} user={user}]",
        on_close=functools.partial(SLOTS.give_back, user.pk),
    )
    # The session and the user were loaded on this request's own thread, whose database
    # connection would otherwise stay open as long as the download (hours, for a slow
    # reader); the checks from here on run on DOWNLOAD_CHECKS.
    await sync_to_async(_release_connections)()
    return body


async def _open_audio(name: str, fmt: str, user_id: int) -> ByteSource:
    """:func:`open_audio` on the download threads, its errors as the API's; on any failure
    ``user_id``'s download slot is given back. A request that goes away while the file is
    opened gives it back once the open has finished, and what was opened is closed.

    Raises:
        Conflict: too long for WAV. NotFound: unreadable, or missing from storage.
    """
    opening = asyncio.ensure_future(DOWNLOADS.run(open_audio, name, fmt))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        opening.add_done_callback(functools.partial(_drop_opened, user_id))
        raise
    except BaseException as exc:
        SLOTS.give_back(user_id)
        if isinstance(exc, TooLongForWav):
            raise Conflict(f"Cannot serve this audio as WAV: {exc}.") from None
        if isinstance(exc, AudioError):
            raise NotFound(f"The stored audio cannot be read: {exc}.") from None
        if isinstance(exc, FileNotFoundError):
            raise NotFound("The audio file is missing from storage.") from None
        raise


def _drop_opened(user_id: int, opening: asyncio.Future[ByteSource]) -> None:
    """(Done callback of an open whose request went away.) Close what it opened, on the
    download threads, and give back the slot it held."""
    try:
        if not opening.cancelled() and opening.exception() is None:
            DOWNLOADS.submit(opening.result().close)
    finally:
        SLOTS.give_back(user_id)


async def _close_before_body(source: ByteSource, user_id: int) -> None:
    """Close a source no response body took, and give back its download slot."""
    try:
        await DOWNLOADS.run(source.close)
    finally:
        SLOTS.give_back(user_id)


def _release_connections() -> None:
    """Close this thread's database connections, but none inside a transaction (a
    caller's atomic block, as a test's is: closing would break it)."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


def _safe(title: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_ " else "_" for c in title).strip()
    return cleaned[:80] or "recording"


@api_view("GET")
def recording_peaks(request: HttpRequest, recording_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        buckets = int(request.GET.get("buckets", "1000"))
    except ValueError:
        raise BadRequest("buckets must be an integer.") from None
    if not 50 <= buckets <= 4000:
        raise BadRequest("buckets must be between 50 and 4000.")
    rec = services.check_readable(user, recording_id)
    return JsonResponse(peaks.recording_peaks(rec, buckets, services.raw_readable(rec, user.pk)))
