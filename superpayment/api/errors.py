"""One error envelope for every API answer that is not a success:

    {"error": {"type": "invalid_request_error", "code": "parameter_invalid",
               "message": "amount: Ensure this value is greater than or equal to 1.",
               "param": "amount", "errors": {"amount": ["Ensure this value is …"]}}}

`type` is one of ERROR_TYPES; `code` is a stable machine-readable string (a DomainError's code,
or one of the generic codes below); `param` names the first input field at fault, or null;
`errors` lists every field's messages (empty when the error concerns no field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from superpayment.errors import DomainError

log = structlog.get_logger(__name__)

INVALID_REQUEST_ERROR = "invalid_request_error"
AUTHENTICATION_ERROR = "authentication_error"
PERMISSION_ERROR = "permission_error"
RATE_LIMIT_ERROR = "rate_limit_error"
API_ERROR = "api_error"
ERROR_TYPES = (
    INVALID_REQUEST_ERROR,
    AUTHENTICATION_ERROR,
    PERMISSION_ERROR,
    RATE_LIMIT_ERROR,
    API_ERROR,
)

# HTTP status of a DomainError by its code, where it is not 400. Apps add their codes here.
# (A key refused at authentication never gets here: the authentication class answers 401.)
DOMAIN_ERROR_STATUS: dict[str, int] = {
    "merchant_not_found": status.HTTP_404_NOT_FOUND,
    "merchant_suspended": status.HTTP_403_FORBIDDEN,
    "live_mode_not_activated": status.HTTP_403_FORBIDDEN,
    "webhook_endpoint_not_found": status.HTTP_404_NOT_FOUND,
    "webhook_delivery_not_found": status.HTTP_404_NOT_FOUND,
    "event_not_found": status.HTTP_404_NOT_FOUND,
    "webhook_endpoint_disabled": status.HTTP_409_CONFLICT,
    "invoice_not_found": status.HTTP_404_NOT_FOUND,
    "commission_not_found": status.HTTP_404_NOT_FOUND,
    "invoice_immutable": status.HTTP_409_CONFLICT,
    "invoice_transition_invalid": status.HTTP_409_CONFLICT,
    "stripe_failed": status.HTTP_502_BAD_GATEWAY,
    "checkout_session_not_found": status.HTTP_404_NOT_FOUND,
    "payment_not_found": status.HTTP_404_NOT_FOUND,
    "checkout_session_expired": status.HTTP_410_GONE,
    "checkout_session_completed": status.HTTP_409_CONFLICT,
    "order_already_paid": status.HTTP_409_CONFLICT,
    "order_requires_signed_checkout": status.HTTP_409_CONFLICT,
    "pay_button_not_accepted": status.HTTP_403_FORBIDDEN,
    "origin_not_allowed": status.HTTP_403_FORBIDDEN,
    "code_attempts_exceeded": status.HTTP_429_TOO_MANY_REQUESTS,
    "service_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "idempotency_key_reused": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "idempotency_key_in_use": status.HTTP_409_CONFLICT,
    "voucher_not_found": status.HTTP_404_NOT_FOUND,
    "voucher_job_not_found": status.HTTP_404_NOT_FOUND,
    "voucher_closed": status.HTTP_409_CONFLICT,
    "code_taken": status.HTTP_409_CONFLICT,
    "refund_not_found": status.HTTP_404_NOT_FOUND,
    "payment_already_refunded": status.HTTP_409_CONFLICT,
    "refund_vouchers_closed": status.HTTP_409_CONFLICT,
    "body_too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}

# DRF exceptions: (envelope type, code, message); None keeps the exception's own.
_API_EXCEPTIONS: list[tuple[type[exceptions.APIException], str, str, str | None]] = [
    (exceptions.ValidationError, INVALID_REQUEST_ERROR, "parameter_invalid", None),
    (
        exceptions.NotAuthenticated,
        AUTHENTICATION_ERROR,
        "api_key_missing",
        "No API key provided. Send your secret key as `Authorization: Bearer sk_…`.",
    ),
    (exceptions.AuthenticationFailed, AUTHENTICATION_ERROR, "authentication_failed", None),
    (exceptions.PermissionDenied, PERMISSION_ERROR, "permission_denied", None),
    (exceptions.NotFound, INVALID_REQUEST_ERROR, "resource_missing", None),
    (exceptions.MethodNotAllowed, INVALID_REQUEST_ERROR, "method_not_allowed", None),
    (exceptions.ParseError, INVALID_REQUEST_ERROR, "body_invalid", None),
    (exceptions.UnsupportedMediaType, INVALID_REQUEST_ERROR, "unsupported_media_type", None),
    (exceptions.NotAcceptable, INVALID_REQUEST_ERROR, "not_acceptable", None),
    (exceptions.Throttled, RATE_LIMIT_ERROR, "rate_limited", None),
]
# DRF's own default codes, replaced by ours above; any other code given by a raiser is kept.
_DRF_DEFAULT_CODES = {
    "invalid",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "method_not_allowed",
    "parse_error",
    "unsupported_media_type",
    "not_acceptable",
    "throttled",
    "error",
}


def error_body(
    *,
    type: str,
    code: str,
    message: str,
    param: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    return {
        "error": {
            "type": type,
            "code": code,
            "message": message,
            "param": param,
            "errors": dict(errors or {}),
        }
    }


def _flatten(detail: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail -> {"items.0.amount": ["…"]}; top-level lists and
    `non_field_errors` go under "non_field_errors"."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            child = f"{path}.{key}" if path else str(key)
            for field, messages in _flatten(value, child).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    if isinstance(detail, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in detail):
            return {path or "non_field_errors": [str(item) for item in detail]}
        flat = {}
        for index, item in enumerate(detail):
            child = f"{path}.{index}" if path else str(index)
            for field, messages in _flatten(item, child).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    return {path or "non_field_errors": [str(detail)]}


def _validation_body(exc: exceptions.ValidationError) -> dict:
    errors = _flatten(exc.detail)
    field, messages = next(iter(errors.items()), ("non_field_errors", ["Invalid request."]))
    param = None if field == "non_field_errors" else field
    message = f"{param}: {messages[0]}" if param else messages[0]
    return error_body(
        type=INVALID_REQUEST_ERROR,
        code="parameter_invalid",
        message=message,
        param=param,
        errors=errors,
    )


def _api_exception_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc)
    error_type, code, message = API_ERROR, "api_error", None
    for exc_class, exc_type, exc_code, exc_message in _API_EXCEPTIONS:
        if isinstance(exc, exc_class):
            error_type, code, message = exc_type, exc_code, exc_message
            break
    else:
        if exc.status_code < 500:
            error_type, code = INVALID_REQUEST_ERROR, "invalid_request"
    raised_code = exc.get_codes()
    if isinstance(raised_code, str) and raised_code not in _DRF_DEFAULT_CODES:
        code = raised_code
        message = None  # a raiser that chose its code chose its message too
    if message is None:
        message = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc)
    return error_body(type=error_type, code=code, message=message)


def _domain_error_response(exc: DomainError) -> Response:
    code = str(exc.code)
    retry_after = getattr(exc, "retry_after", None)  # a throttling error says when to retry
    set_rollback()
    return Response(
        error_body(
            type=exc.error_type,
            code=code,
            message=exc.message,
            param=exc.param,
            errors={exc.param: [exc.message]} if exc.param else None,
        ),
        status=DOMAIN_ERROR_STATUS.get(code, status.HTTP_400_BAD_REQUEST),
        headers={"Retry-After": str(retry_after)} if retry_after else None,
    )


def internal_error_message(request: Any) -> str:
    """A 500's message: no internals, the request id to quote."""
    message = "An unexpected error occurred on our side; it has been logged."
    request_id = getattr(request, "request_id", None)
    if request_id:
        message += f" Quote request id {request_id} if you contact support."
    return message


def exception_handler(exc: Exception, context: dict) -> Response:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every error becomes the envelope, a 500 included
    (logged with its traceback, answered without internals)."""
    if isinstance(exc, DomainError):
        return _domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        set_rollback()
        return Response(_api_exception_body(exc), status=exc.status_code, headers=headers)

    request = context.get("request")
    log.error(
        "api_unhandled_exception",
        view=type(context.get("view")).__name__,
        path=getattr(request, "path", None),
        exc_info=exc,
    )
    set_rollback()
    return Response(
        error_body(type=API_ERROR, code="internal_error", message=internal_error_message(request)),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
