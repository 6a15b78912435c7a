"""Webhook events about vouchers, written in the transaction of the change (the outbox).

- `voucher.created`: a voucher is issued (a bulk issue: one per voucher up to BULK_EVENTS_MAX);
- `voucher.updated`: expiry, status (disable/enable) or metadata changed; a refund credit, a
  manual adjustment or a void moved the balance;
- `voucher.exhausted`: a redemption or an adjustment took the balance to zero;
- `voucher.expired`: the expiry task closed a voucher past its expiry.

A redemption that leaves a balance above zero sends no voucher event: the payment's own
`payment.succeeded` event reports it. Every event carries the voucher as the API shows it, with
its `version`, so a receiver can drop an event older than the one it applied.
"""

from __future__ import annotations

from vouchers.models import Voucher
from vouchers.representation import voucher_api_object

# A bulk issue above this many vouchers sends no voucher.created events (the job reports them).
BULK_EVENTS_MAX = 1_000

VOUCHER_CREATED = "voucher.created"
VOUCHER_UPDATED = "voucher.updated"
VOUCHER_EXHAUSTED = "voucher.exhausted"
VOUCHER_EXPIRED = "voucher.expired"


def voucher_event_record(*, voucher: Voucher, event_type: str) -> None:
    """Record one event about `voucher` (as it is now). Call inside the change's transaction."""
    from webhooks.services import event_record

    event_record(
        event_type=event_type, data_object=voucher_api_object(voucher), livemode=voucher.livemode
    )


def voucher_event_statement(*, voucher: Voucher, event_type: str, subscriptions):
    """`voucher_event_record` for a payer that sends its statements together
    (webhooks.services.event_statement): the event and its statement."""
    from webhooks.services import event_statement

    return event_statement(
        event_type=event_type,
        data_object=voucher_api_object(voucher),
        livemode=voucher.livemode,
        subscriptions=subscriptions,
    )


def voucher_change_event_type(voucher: Voucher) -> str:
    """`voucher.exhausted` when the change left nothing to spend, else `voucher.updated`."""
    if voucher.status == Voucher.Status.EXHAUSTED:
        return VOUCHER_EXHAUSTED
    return VOUCHER_UPDATED
