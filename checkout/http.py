"""JSON plumbing shared by the widget's and the payment frame's endpoints (plain Django views:
they are not the secret-key API, but answer the same error envelope)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from checkout.errors import CheckoutError, CheckoutErrorCode
from superpayment.api.errors import DOMAIN_ERROR_STATUS, error_body
from superpayment.errors import DomainError
from superpayment.text import has_control_characters
from tenants.errors import ApiKeyError, ApiKeyErrorCode

BODY_MAX_BYTES = 16 * 1024


def domain_error_response(exc: DomainError) -> JsonResponse:
    code = str(exc.code)
    if isinstance(exc, ApiKeyError):
        error_type = "authentication_error"
        forbidden = (ApiKeyErrorCode.MERCHANT_SUSPENDED, ApiKeyErrorCode.LIVE_MODE_NOT_ACTIVATED)
        status = 403 if code in forbidden else 401
    else:
        error_type = exc.error_type
        status = DOMAIN_ERROR_STATUS.get(code, 400)
    response = JsonResponse(
        error_body(
            type=error_type,
            code=code,
            message=exc.message,
            param=exc.param,
            errors={exc.param: [exc.message]} if exc.param else None,
        ),
        status=status,
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def bad_request(message: str) -> JsonResponse:
    return JsonResponse(
        error_body(type="invalid_request_error", code="body_invalid", message=message),
        status=400,
    )


def json_body(request: HttpRequest) -> dict[str, Any] | None:
    """The request's JSON object (sent as application/json or text/plain), or None.
    A body over BODY_MAX_BYTES raises `body_too_large` (413)."""
    if len(request.body) > BODY_MAX_BYTES:
        raise CheckoutError(
            CheckoutErrorCode.BODY_TOO_LARGE,
            f"The request body is larger than {BODY_MAX_BYTES} bytes.",
        )
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def text_field(data: dict[str, Any], name: str, *, max_length: int) -> str:
    """`data[name]` as text: a string (or absent/null, read as ""), at most `max_length`
    characters, without control characters; anything else is `parameter_invalid` naming it."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        problem = "must be a string"
    elif len(value) > max_length:
        problem = f"is at most {max_length} characters"
    elif has_control_characters(value):
        problem = "must not contain control characters"
    else:
        return value
    raise CheckoutError(CheckoutErrorCode.PARAMETER_INVALID, f"{name} {problem}.", param=name)


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def own_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"
