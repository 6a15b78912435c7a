"""The overview's figures: payment volume and count today, over 7 and over 30 days, per
currency, and a bar per day of the last 30 days for the chart. One grouped query, read through
`reporting_reads()` (the read replica when one is configured)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from checkout.models import Payment
from superpayment.db_router import reporting_reads

WINDOWS = (("today", "Today", 1), ("7d", "Last 7 days", 7), ("30d", "Last 30 days", 30))
CHART_DAYS = 30
CHART_HEIGHT = 80
BAR_WIDTH = 10
BAR_GAP = 2


@dataclass(frozen=True)
class Volume:
    currency: str
    amount: int
    count: int


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    volumes: list[Volume]

    @property
    def count(self) -> int:
        return sum(volume.count for volume in self.volumes)


@dataclass(frozen=True)
class Bar:
    day: datetime.date
    amount: int
    count: int
    x: int
    y: int
    height: int


@dataclass
class DashboardFigures:
    livemode: bool
    windows: list[Window]
    chart_currency: str
    bars: list[Bar] = field(default_factory=list)
    chart_width: int = CHART_DAYS * (BAR_WIDTH + BAR_GAP)
    chart_height: int = CHART_HEIGHT
    bar_width: int = BAR_WIDTH

    @property
    def has_payments(self) -> bool:
        return any(window.volumes for window in self.windows)


def _daily(*, livemode: bool, since: datetime.datetime) -> list[dict]:
    with reporting_reads():
        return list(
            Payment.objects.filter(livemode=livemode, created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values("day", "currency")
            .annotate(amount=Sum("amount"), count=Count("id"))
            .order_by("day", "currency")
        )


def dashboard_figures(
    *, livemode: bool, default_currency: str, now: datetime.datetime | None = None
) -> DashboardFigures:
    """Gross payment volume (refunds not deducted) and count per currency for today (since
    midnight, in the site's time zone), the last 7 and the last 30 days (today included), and
    the chart's bars: one per day of the last 30 in the chart currency (the default currency,
    or the currency with the most volume when the default has none)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - datetime.timedelta(days=CHART_DAYS - 1)
    since = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time.min))
    rows = _daily(livemode=livemode, since=since)

    windows = []
    for key, label, days in WINDOWS:
        start = today - datetime.timedelta(days=days - 1)
        totals: dict[str, list[int]] = {}
        for row in rows:
            if row["day"] >= start:
                total = totals.setdefault(row["currency"], [0, 0])
                total[0] += row["amount"]
                total[1] += row["count"]
        windows.append(
            Window(
                key=key,
                label=label,
                volumes=[
                    Volume(currency=currency, amount=amount, count=count)
                    for currency, (amount, count) in sorted(totals.items())
                ],
            )
        )

    by_currency: dict[str, int] = {}
    for row in rows:
        by_currency[row["currency"]] = by_currency.get(row["currency"], 0) + row["amount"]
    chart_currency = default_currency
    if by_currency and default_currency not in by_currency:
        chart_currency = max(sorted(by_currency), key=lambda currency: by_currency[currency])
    per_day = {
        row["day"]: (row["amount"], row["count"])
        for row in rows
        if row["currency"] == chart_currency
    }
    peak = max((amount for amount, _ in per_day.values()), default=0)
    bars = []
    for index in range(CHART_DAYS):
        day = first_day + datetime.timedelta(days=index)
        amount, count = per_day.get(day, (0, 0))
        height = round(CHART_HEIGHT * amount / peak) if peak else 0
        if amount and not height:
            height = 1  # a day with payments always shows
        bars.append(
            Bar(
                day=day,
                amount=amount,
                count=count,
                x=index * (BAR_WIDTH + BAR_GAP),
                y=CHART_HEIGHT - height,
                height=height,
            )
        )
    return DashboardFigures(
        livemode=livemode, windows=windows, chart_currency=chart_currency, bars=bars
    )


def dashboard_mode_default() -> bool:
    """Live when the merchant has any live payment, else test."""
    with reporting_reads():
        return Payment.objects.filter(livemode=True).exists()
