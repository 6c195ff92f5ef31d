"""JSON API plumbing shared by every app: errors, body parsing, the view decorator.

Views stay thin: ``@api_view`` handles method, authentication, body size and
JSON decoding; ``check_*`` helpers validate fields; services raise
:class:`ApiError` (or Django's ``ValidationError``) and the decorator turns it
into the contract's ``{"error": ...}`` body with the right status.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

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
        ApiError: 413 over ``API_MAX_BODY_BYTES``; 400 not JSON (also: nested deeper
        than the parser's recursion limit, or a number with thousands of digits),
        not an object, or a string holding a NUL character.
    """
    limit: int = settings.API_MAX_BODY_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"Request body is larger than {limit} bytes.")
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, f"Request body is larger than {limit} bytes.") from None
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
    if _has_nul(data):
        raise BadRequest(NUL_MESSAGE)
    return data


NUL_MESSAGE = "Text must not contain NUL characters."


def check_no_nul(*texts: str) -> None:
    """Raises BadRequest if a text (a form field, a file name) holds a NUL character."""
    if any("\x00" in text for text in texts):
        raise BadRequest(NUL_MESSAGE)


def _has_nul(data: object) -> bool:
    """True if any key or string in decoded JSON holds a NUL character (PostgreSQL
    refuses them in text, so such a value would fail in the database, not here)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


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


def api_view(*methods: str, login: bool = True) -> Callable[[V], V]:
    """Decorate a JSON API view.

    Checks the HTTP method (405), the session (401 when ``login``), and turns
    :class:`ApiError` and ``ValidationError`` into JSON error responses. CSRF is
    enforced by Django's middleware for every unsafe method.
    """
    allowed = {m.upper() for m in methods}

    def decorate(view: V) -> V:
        def check(request: HttpRequest, authenticated: bool) -> HttpResponse | None:
            if request.method not in allowed:
                resp = error_response(405, f"Method {request.method} is not allowed here.")
                resp["Allow"] = ", ".join(sorted(allowed))
                return resp
            if login and not authenticated:
                return error_response(401, "You are not logged in.")
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
                response = view(request, *args, **kwargs)
            except (ApiError, ValidationError) as exc:
                return to_response(exc)
            assert isinstance(response, HttpResponseBase)
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: JSON 403 under /api/, Django's page elsewhere."""
    if is_api(request):
        return error_response(
            403, "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken."
        )
    from django.views.csrf import csrf_failure as default

    return default(request, reason)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return error_response(404, "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception())


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400s (a bad Host header, too many fields, a multipart body it cannot
    parse, any SuspiciousOperation): JSON under /api/."""
    if is_api(request):
        return error_response(400, _bad_request_message(exception))
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def _bad_request_message(exception: Exception | None) -> str:
    from django.core.exceptions import DisallowedHost, TooManyFieldsSent, TooManyFilesSent
    from django.http.multipartparser import MultiPartParserError

    if isinstance(exception, DisallowedHost):
        return "The Host header names a host this server does not serve."
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return f"Too many query or form fields (at most {limit})."
    if isinstance(exception, TooManyFilesSent):
        return f"Too many files (at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES})."
    if isinstance(exception, MultiPartParserError):
        return f"The multipart body cannot be parsed: {exception}."
    return "Bad request."


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return error_response(403, "You are not allowed to do that.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception or Exception())


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return error_response(500, "Internal server error; it has been logged.")
    from django.views.defaults import server_error

    return server_error(request)


KEPT_HEADERS = ("Allow", "Content-Range", "Retry-After")


def _as_json_error(response: HttpResponseBase) -> JsonResponse:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = "Error"
    replaced = error_response(response.status_code, f"{phrase}.")
    for header in KEPT_HEADERS:
        if header in response:
            replaced[header] = response[header]
    return replaced


class JsonApiErrors(MiddlewareMixin):
    """Under /api/, an error response that is not JSON becomes the contract's JSON.

    The error handlers above cover Django's own error pages; this catches what
    they cannot: the DEBUG pages (HTML even for a 400 or 404) and bodiless or
    plain-text errors from other layers. First in ``MIDDLEWARE``, so it sees
    every response, including those made for errors raised in other middleware.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        """A NUL character in the path or query string: 400 before any view looks it up
        (PostgreSQL refuses NUL in text; the lookup would fail with a 500)."""
        query = request.META.get("QUERY_STRING", "")
        if is_api(request) and ("\x00" in request.path or "%00" in query or "\x00" in query):
            return error_response(400, NUL_MESSAGE)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's SuspiciousOperation (too many fields...) or unparsable multipart body:
        the JSON 400 directly, also with DEBUG on (whose page would re-read the bad input)."""
        from django.core.exceptions import BadRequest as DjangoBadRequest
        from django.core.exceptions import SuspiciousOperation
        from django.http.multipartparser import MultiPartParserError

        bad = (SuspiciousOperation, MultiPartParserError, DjangoBadRequest)
        if is_api(request) and isinstance(exception, bad):
            return handler400(request, exception)
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        content_type = response.get("Content-Type", "")
        if not is_api(request) or content_type.startswith("application/json"):
            return response
        if response.status_code < 400:
            if not response.streaming and not response.content and "Content-Type" in response:
                # A 204 or a redirect: no body, so no (default text/html) type either.
                del response["Content-Type"]
            return response
        return _as_json_error(response)


class JsonErrorsASGIHandler(ASGIHandler):
    """Django's ASGI handler, with JSON for the errors it sends before any middleware.

    It answers a query string that is not UTF-8 with a bodiless 400 (and an
    oversized form with a plain-text 413) without running the middleware;
    under /api/ those become JSON too.
    """

    def create_request(self, scope: Any, body_file: Any) -> Any:
        request, error = super().create_request(scope, body_file)
        if error is not None and str(scope.get("path", "")).startswith("/api/"):
            error = _as_json_error(error)
        return request, error
