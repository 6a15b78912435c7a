"""Webhook error codes."""

from __future__ import annotations

from enum import StrEnum

from superpayment.errors import DomainError


class WebhookErrorCode(StrEnum):
    URL_INVALID = "url_invalid"
    URL_REFUSED = "url_refused"
    EVENT_TYPE_INVALID = "event_type_invalid"
    EVENT_DATA_INVALID = "event_data_invalid"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    ENDPOINT_NOT_FOUND = "webhook_endpoint_not_found"
    ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    ENDPOINT_LIMIT_REACHED = "webhook_endpoint_limit_reached"
    DESCRIPTION_INVALID = "description_invalid"
    OVERLAP_INVALID = "overlap_invalid"
    DELIVERY_NOT_FOUND = "webhook_delivery_not_found"
    EVENT_NOT_FOUND = "event_not_found"


class WebhookError(DomainError):
    pass
