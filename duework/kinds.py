"""The kinds of periodic work a merchant can have due, and who does each.

Each kind names, by dotted path (the domain apps import duework, not the reverse), the function
that does the due work in the active merchant's schema and the function that says when work of
that kind is next due there (None: nothing left, the index row goes). A kind with `daily_at`
runs at most once a day at that UTC time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from importlib import import_module
from typing import Any

# Checkout sessions past their expiry, and the voucher holds they made (a hold never outlives
# its session: it is made with the session's expiry and released when the session ends).
CHECKOUT_EXPIRY = "checkout.expiry"
# Active vouchers past their expiry.
VOUCHER_EXPIRY = "vouchers.expiry"
# The nightly voucher-liability snapshot, for merchants with live vouchers outstanding or a
# change since the last snapshot (docs/scaling.md, "Periodic work").
LIABILITY_SNAPSHOT = "billing.liability"


@dataclass(frozen=True)
class Kind:
    run: str
    next_due: str
    daily_at: datetime.time | None = None

    def call_run(self) -> Any:
        return _resolve(self.run)()

    def call_next_due(self, *, now: datetime.datetime) -> datetime.datetime | None:
        return _resolve(self.next_due)(now=now)

    def next_slot(self, *, now: datetime.datetime) -> datetime.datetime:
        """The first daily slot after `now` (UTC); `now` itself for a kind without one."""
        if self.daily_at is None:
            return now
        today = datetime.datetime.combine(now.astimezone(datetime.UTC).date(), self.daily_at)
        slot = today.replace(tzinfo=datetime.UTC)
        return slot if slot > now else slot + datetime.timedelta(days=1)


KINDS: dict[str, Kind] = {
    CHECKOUT_EXPIRY: Kind(
        run="checkout.sessions.checkout_expiry_run",
        next_due="checkout.selectors.checkout_expiry_next_due",
    ),
    VOUCHER_EXPIRY: Kind(
        run="vouchers.balance_changes.voucher_expire_due",
        next_due="vouchers.selectors.voucher_expiry_next_due",
    ),
    LIABILITY_SNAPSHOT: Kind(
        run="billing.liability.liability_snapshot_due",
        next_due="billing.liability.liability_next_due",
        daily_at=datetime.time(2, 30),
    ),
}


def _resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)
