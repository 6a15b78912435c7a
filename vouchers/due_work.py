"""What vouchers tell the due-work index (duework) when they make periodic work: an active
voucher with an expiry is expiry work; a live balance that grows is a liability snapshot due
tonight. One statement, in the caller's transaction."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from duework.kinds import LIABILITY_SNAPSHOT, VOUCHER_EXPIRY
from duework.services import due_work_schedule


def vouchers_due_work_schedule(
    *, expiries: Iterable[datetime.datetime | None], livemode: bool
) -> None:
    """Vouchers became active (issued, enabled, credited) or got a new expiry: `expiries` are
    theirs (None: never expires); a live one also makes tonight's liability snapshot due."""
    earliest = min((at for at in expiries if at is not None), default=None)
    entries: list[tuple[str, datetime.datetime | None]] = []
    if earliest is not None:
        entries.append((VOUCHER_EXPIRY, earliest))
    if livemode:
        entries.append((LIABILITY_SNAPSHOT, None))
    due_work_schedule(entries)
