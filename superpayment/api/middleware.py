"""JSON answers on the machine-facing paths, whatever goes wrong and whatever DEBUG says.

The merchant API (`/v1`), the widget's endpoints (`/checkout/widget/…`) and the payment frame's
endpoints (`/checkout/pay/<merchant>/<session>/<action>`) are read by programs: an HTML error
page (Django's 404, 405 and 400 pages, the debug page in development) would break them. On those
paths this middleware

- refuses a body over the size limit with 413 before any view reads it;
- answers an exception that escapes a view with the envelope (500, logged with its traceback;
  404, 403, 400 and 413 for Django's own exceptions), never Django's page;
- rewrites any other error answer that is not JSON (a resolver 404, `require_POST`'s empty 405)
  into the envelope, keeping its status and headers (`Allow` included).

The frame's page itself (`/checkout/pay/<merchant>/<session>/`) is HTML for people and keeps
HTML errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from superpayment.api.errors import (
    API_ERROR,
    INVALID_REQUEST_ERROR,
    PERMISSION_ERROR,
    RATE_LIMIT_ERROR,
    error_body,
    internal_error_message,
)

log = structlog.get_logger(__name__)

JSON_PATHS = re.compile(r"^/(v1(/|$)|checkout/widget/|checkout/pay/[^/]+/[^/]+/.)")
# Headers that describe the replaced body, not the answer.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-disposition"}


def answers_json(path: str) -> bool:
    return JSON_PATHS.match(path) is not None


def body_limit() -> int:
    """The largest request body accepted on the JSON paths (Django's own upload limit)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large() -> str:
    return f"The request body is larger than {body_limit()} bytes."


def _status_error(request: HttpRequest, status: int) -> tuple[str, str, str]:
    """(type, code, message) of an error answer made by Django rather than by our views."""
    if status == 404:
        return (
            INVALID_REQUEST_ERROR,
            "resource_missing",
            f"Unrecognised request URL ({request.method}: {request.path}).",
        )
    if status == 405:
        return (
            INVALID_REQUEST_ERROR,
            "method_not_allowed",
            f'Method "{request.method}" not allowed.',
        )
    if status == 413:
        return INVALID_REQUEST_ERROR, "body_too_large", _too_large()
    if status == 403:
        return PERMISSION_ERROR, "permission_denied", "You do not have permission to do this."
    if status == 429:
        return RATE_LIMIT_ERROR, "rate_limited", "Too many requests; retry later."
    if status >= 500:
        return API_ERROR, "internal_error", internal_error_message(request)
    return INVALID_REQUEST_ERROR, "request_invalid", "The request is not valid."


def _envelope(request: HttpRequest, status: int, original: HttpResponse | None = None):
    error_type, code, message = _status_error(request, status)
    response = JsonResponse(error_body(type=error_type, code=code, message=message), status=status)
    if original is not None:
        for name, value in original.items():
            if name.lower() not in _BODY_HEADERS:
                response[name] = value
        response.cookies = original.cookies
    return response


class JsonErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not answers_json(request.path):
            return self.get_response(request)
        if _content_length(request) > body_limit():
            return _envelope(request, 413)
        response = self.get_response(request)
        is_json = response.get("Content-Type", "").startswith("application/json")
        if response.status_code >= 400 and not is_json:
            return _envelope(request, response.status_code, response)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        """A view's exception on a JSON path: the envelope, not Django's (or the debug) page."""
        if not answers_json(request.path):
            return None
        if isinstance(exc, Http404):
            return _envelope(request, 404)
        if isinstance(exc, PermissionDenied):
            return _envelope(request, 403)
        if isinstance(exc, RequestDataTooBig):
            return _envelope(request, 413)
        if isinstance(exc, SuspiciousOperation):
            return _envelope(request, 400)
        log.error("unhandled_exception", path=request.path, exc_info=exc)
        return _envelope(request, 500)
