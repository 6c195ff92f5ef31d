"""JSON API plumbing shared by every app: errors, body parsing, the view decorator.

Views stay thin: ``@api_view`` handles method, authentication, body size and
JSON decoding; ``check_*`` helpers validate fields; services raise
:class:`ApiError` (or Django's ``ValidationError``) and the decorator turns it
into the contract's ``{"error": ...}`` body with the right status.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

Json = dict[str, Any]
View = Callable[..., HttpResponseBase | Awaitable[HttpResponseBase]]
V = TypeVar("V", bound=View)


class ApiError(Exception):
    """An error the client caused or must handle; carries status and message."""

    def __init__(
        self, status: int, message: str, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


class NotLoggedIn(ApiError):
    def __init__(self, message: str = "You are not logged in.") -> None:
        super().__init__(401, message)


class NotFound(ApiError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(404, message)


class Forbidden(ApiError):
    def __init__(self, message: str = "You are not allowed to do that.") -> None:
        super().__init__(403, message)


class Conflict(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(409, message)


class BadRequest(ApiError):
    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(400, message, errors)


class TooMany(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(429, message)


def error_response(
    status: int, message: str, errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    body: Json = {"error": message}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status)


def parse_json_body(request: HttpRequest) -> Json:
    """The request body as a JSON object.

    Raises:
        ApiError: 413 over ``API_MAX_BODY_BYTES``; 400 not JSON (also: a multipart
        form, nested deeper
        than the parser's recursion limit, or a number with thousands of digits),
        not an object, or a string (or key) holding a NUL character or an unpaired
        surrogate.
    """
    limit: int = settings.API_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, f"Request body is larger than {limit} bytes.") from None
    except RawPostDataException:  # a multipart body, already parsed as a form (CSRF check)
        raise BadRequest("The body must be JSON (Content-Type: application/json).") from None
    if len(raw) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes.")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"Malformed JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest("Malformed JSON: nested too deeply.") from None
    except ValueError:  # an integer longer than Python's int-digit limit (4300)
        raise BadRequest("Malformed JSON: a number has too many digits.") from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    bad = _bad_text(data)
    if bad is not None:
        raise BadRequest(bad)
    return data


NUL_MESSAGE = "Text must not contain NUL characters."
SURROGATE_MESSAGE = "Text must be valid Unicode (an unpaired surrogate was sent)."


def check_no_nul(*texts: str) -> None:
    """Raises BadRequest if a text (a form field, a file name) holds a NUL character."""
    if any("\x00" in text for text in texts):
        raise BadRequest(NUL_MESSAGE)


def _bad_text(data: object) -> str | None:
    """The error for the first key or string in decoded JSON that no query may carry, or
    None. A NUL character: PostgreSQL refuses it in text. An unpaired surrogate (``"\\ud800"``
    is valid JSON but no UTF-8): every database driver fails to encode it. Either would
    fail in the database (a 500), not here."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_MESSAGE
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return SURROGATE_MESSAGE
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def check_str(data: Json, field: str, *, max_length: int = 150, strip: bool = True) -> str:
    """A required non-empty string field.

    Raises:
        BadRequest: missing, not a string, empty, or too long.
    """
    if field not in data:
        raise BadRequest(f"Missing field: {field}.", {field: ["This field is required."]})
    value = data[field]
    if not isinstance(value, str):
        raise BadRequest(f"Field {field} must be a string.", {field: ["Must be a string."]})
    if strip:
        value = value.strip()
    if not value:
        raise BadRequest(f"Field {field} must not be empty.", {field: ["Must not be empty."]})
    if len(value) > max_length:
        raise BadRequest(
            f"Field {field} is too long (at most {max_length} characters).",
            {field: [f"At most {max_length} characters."]},
        )
    return value


def check_number(data: Json, field: str, *, lo: float, hi: float) -> float:
    """A required number field within [lo, hi] (booleans are not numbers).

    Raises:
        BadRequest: missing, wrong type, or out of range.
    """
    if field not in data:
        raise BadRequest(f"Missing field: {field}.", {field: ["This field is required."]})
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"Field {field} must be a number.", {field: ["Must be a number."]})
    if not lo <= value <= hi:
        raise BadRequest(
            f"Field {field} must be between {lo:g} and {hi:g}.",
            {field: [f"Between {lo:g} and {hi:g}."]},
        )
    return float(value)


def is_head(request: HttpRequest) -> bool:
    """Whether an :func:`api_view` view is answering a HEAD (its ``request.method`` says GET).

    The server drops a HEAD's body; a view that streams may skip producing it."""
    return request.META.get("REQUEST_METHOD") == "HEAD"


@contextlib.contextmanager
def _head_as_get(request: HttpRequest) -> Iterator[None]:
    """A HEAD reaches the view as the GET it is, and leaves as a HEAD again.

    Views dispatch on ``request.method``: a HEAD must take their GET branch, never an
    unsafe one (a HEAD passes no CSRF check). Restored afterwards, so that what serves
    the response (the server, the test client) still drops the body.
    """
    head = request.method == "HEAD"
    if head:
        request.method = "GET"
    try:
        yield
    finally:
        if head:
            request.method = "HEAD"


def api_view(*methods: str, login: bool = True) -> Callable[[V], V]:
    """Decorate a JSON API view.

    Checks the HTTP method (405; HEAD is allowed wherever GET is, and the view sees it
    as a GET: :func:`is_head`), the session (401 when ``login``), and turns
    :class:`ApiError` and ``ValidationError`` into JSON error responses. CSRF is
    enforced by Django's middleware for every unsafe method.
    """
    allowed = {m.upper() for m in methods}
    if "GET" in allowed:
        allowed.add("HEAD")  # RFC 9110 9.3.2: HEAD is GET without the body (the server drops it)

    def decorate(view: V) -> V:
        def check(request: HttpRequest, authenticated: bool) -> HttpResponse | None:
            if request.method not in allowed:
                resp = error_response(405, f"Method {request.method} is not allowed here.")
                resp["Allow"] = ", ".join(sorted(allowed))
                return resp
            if login and not authenticated:
                return to_response(NotLoggedIn())
            return None

        def to_response(exc: Exception) -> HttpResponse:
            if isinstance(exc, ApiError):
                return error_response(exc.status, exc.message, exc.errors)
            assert isinstance(exc, ValidationError)
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            return error_response(400, " ".join(exc.messages), errors)

        if asyncio.iscoroutinefunction(view):
            # Async views (live streams) must not touch request.user lazily.
            @functools.wraps(view)
            async def async_wrapper(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> HttpResponseBase:
                user = await request.auser()
                early = check(request, user.is_authenticated)
                if early is not None:
                    return early
                try:
                    with _head_as_get(request):
                        response = view(request, *args, **kwargs)
                        assert not isinstance(response, HttpResponseBase)
                        return await response
                except (ApiError, ValidationError) as exc:
                    return to_response(exc)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            early = check(request, request.user.is_authenticated)
            if early is not None:
                return early
            try:
                with _head_as_get(request):
                    response = view(request, *args, **kwargs)
            except (ApiError, ValidationError) as exc:
                return to_response(exc)
            assert isinstance(response, HttpResponseBase)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate
