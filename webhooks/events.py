"""The event types a merchant can subscribe to, with the description the catalogue shows."""

from __future__ import annotations

from enum import StrEnum

# The API version stamped on every event; raised only when a payload changes incompatibly.
API_VERSION = "2026-11-01"


class EventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_REFUNDED = "payment.refunded"
    CHECKOUT_SESSION_EXPIRED = "checkout.session.expired"
    VOUCHER_CREATED = "voucher.created"
    VOUCHER_UPDATED = "voucher.updated"
    VOUCHER_EXHAUSTED = "voucher.exhausted"
    VOUCHER_EXPIRED = "voucher.expired"
    VOUCHER_ENUMERATION_SUSPECTED = "voucher.enumeration_suspected"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    # Sent only by "Send test event"; never recorded by a real change.
    TEST = "test.webhook"


# What each type means and which object `data.object` carries (the portal catalogue, the docs).
EVENT_CATALOGUE: dict[EventType, tuple[str, str]] = {
    EventType.PAYMENT_SUCCEEDED: ("payment", "A checkout was paid: every voucher was debited."),
    EventType.PAYMENT_REFUNDED: (
        "payment",
        "A payment was refunded, in full or in part; the amount went back to its vouchers.",
    ),
    EventType.CHECKOUT_SESSION_EXPIRED: (
        "checkout.session",
        "A checkout session expired unpaid; the order was not paid through it.",
    ),
    EventType.VOUCHER_CREATED: ("voucher", "A voucher was issued."),
    EventType.VOUCHER_UPDATED: (
        "voucher",
        "A voucher changed: balance, status, validity or metadata.",
    ),
    EventType.VOUCHER_EXHAUSTED: ("voucher", "A voucher's balance reached zero."),
    EventType.VOUCHER_EXPIRED: ("voucher", "A voucher passed its expiry date."),
    EventType.VOUCHER_ENUMERATION_SUSPECTED: (
        "voucher_guard",
        "Many wrong voucher codes were tried against your shop: someone may be guessing codes.",
    ),
    EventType.WEBHOOK_ENDPOINT_DISABLED: (
        "webhook_endpoint",
        "A webhook endpoint was disabled: its URL answered 410 Gone, or every delivery to it "
        "failed for 5 days.",
    ),
    EventType.TEST: ("webhook_endpoint", 'Sent by "Send test event" to check your receiver.'),
}

SUBSCRIBABLE: tuple[str, ...] = tuple(t.value for t in EventType if t is not EventType.TEST)
# An endpoint subscribed to this receives every type, including types added later.
ALL_EVENTS = "*"
