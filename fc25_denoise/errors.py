"""Error responses Django makes itself: JSON under /api/, Django's pages elsewhere.

The contract promises ``{"error": ...}`` for every /api/ error. Views get it from
:func:`~fc25_denoise.api.api_view`; this module covers the rest: the error handlers
``fc25_denoise/urls.py`` installs (400 for a bad Host header, too many fields or an
unparsable multipart body; 403; 404; 500), the CSRF failure view, a middleware for
what the handlers cannot reach (DEBUG pages, bodiless errors, NUL characters), and
the ASGI handler for the errors Django sends before any middleware runs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest as DjangoBadRequest
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from .api import NUL_MESSAGE, error_response

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
"""Methods that read only: a redirect to the slashed path is harmless for them."""


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
    parse, any SuspiciousOperation): JSON under /api/, and 413 for form fields larger
    than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (a ``SuspiciousOperation`` too)."""
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):  # form fields past the form limit
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return error_response(413, f"The form fields are larger than {limit} bytes.")
        return error_response(400, _bad_request_message(exception))
    from django.views.defaults import bad_request

    return bad_request(request, exception or Exception())


def _bad_request_message(exception: Exception | None) -> str:
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
        """Under /api/: a NUL character in the path or query string is 400 before any view
        looks it up (PostgreSQL refuses NUL in text; the lookup would fail with a 500).
        An unsafe request to a path without its final slash is 404 (every API path ends
        with one): ``CommonMiddleware`` would redirect it, which ``fetch`` follows as a
        ``GET`` (a ``POST`` quietly becoming a read), and with DEBUG on it raises."""
        if not is_api(request):
            return None
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return error_response(400, NUL_MESSAGE)
        if request.method not in SAFE_METHODS and not request.path.endswith("/"):
            return error_response(404, f"API paths end with '/': {request.path}/")
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's SuspiciousOperation (too many fields...) or unparsable multipart body:
        the JSON 400 directly, also with DEBUG on (whose page would re-read the bad input)."""
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
            bodiless = response.status_code == 204 or 300 <= response.status_code < 400
            if bodiless and "Content-Type" in response:
                # A 204 or a redirect has no body, so no (default text/html) type either.
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
