"""The overview's figures: payment volume and count today, over 7 and over 30 days, per
currency, and a chart of the volume per day or per month over a chosen range (7, 30 or 90 days,
12 months, or custom dates). Each is one grouped query in the merchant's schema — days and
months are cut in the business's time zone by PostgreSQL — read through `reporting_reads()`
(the read replica when one is configured); the payment list's (livemode, created_at) index
bounds it to the range."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from babel.dates import format_skeleton
from django.db.models import Count, DateField, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from checkout.models import Payment
from superpayment.charts import BarChart, Group, Series, bar_chart_build
from superpayment.db_router import reporting_reads

WINDOWS = (("today", "Today", 1), ("7d", "Last 7 days", 7), ("30d", "Last 30 days", 30))
RANGES = (("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("12m", "12 months"))
DEFAULT_RANGE = "30d"
# Up to this many days a bar is a day; longer ranges show a bar per month.
DAILY_MAX_DAYS = 92
CUSTOM_MAX_DAYS = 5 * 366
PAID = Series(name="Paid", css_class="series-a")


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
class ChartRange:
    key: str  # one of RANGES' keys, or "custom"
    first_day: datetime.date
    last_day: datetime.date  # included
    error: str = ""  # why the custom dates asked for were not used

    @property
    def unit(self) -> str:
        days = (self.last_day - self.first_day).days + 1
        return "day" if days <= DAILY_MAX_DAYS else "month"


@dataclass
class DashboardFigures:
    livemode: bool
    windows: list[Window]
    chart_range: ChartRange
    chart: BarChart
    range_volumes: list[Volume]
    range_text: str = ""  # "6 Sept 2026 - 4 Dec 2026" (an en dash), in the business's locale

    @property
    def has_payments(self) -> bool:
        return any(window.volumes for window in self.windows)

    @property
    def chart_currency(self) -> str:
        return self.chart.currency

    @property
    def range_count(self) -> int:
        return sum(volume.count for volume in self.range_volumes)


def _month_start(day: datetime.date, months_back: int = 0) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def chart_range_resolve(
    *, key: str | None, start: str = "", end: str = "", today: datetime.date
) -> ChartRange:
    """The range the overview's chart shows: a preset (`7d`, `30d`, `90d`, `12m`: the last N
    days or the last 12 calendar months, today included), or `custom` from `start` to `end`
    (ISO dates, at most five years, not past today). Anything else falls back to 30 days, with
    the reason for a custom range that could not be used."""
    presets = {"7d": 7, "30d": 30, "90d": 90}
    if key in presets:
        return ChartRange(key, today - datetime.timedelta(days=presets[key] - 1), today)
    if key == "12m":
        return ChartRange(key, _month_start(today, 11), today)
    fallback = ChartRange(DEFAULT_RANGE, today - datetime.timedelta(days=29), today)
    if key != "custom":
        return fallback
    try:
        first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    except ValueError:
        return ChartRange(**{**fallback.__dict__, "error": "Give both dates of a custom range."})
    last = min(last, today)
    if first > last:
        error = "The range must start before it ends, and not after today."
        return ChartRange(**{**fallback.__dict__, "error": error})
    if (last - first).days + 1 > CUSTOM_MAX_DAYS:
        error = "A custom range covers at most five years."
        return ChartRange(**{**fallback.__dict__, "error": error})
    return ChartRange("custom", first, last)


def _aware_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def payment_volume_by(
    *, livemode: bool, first_day: datetime.date, last_day: datetime.date, unit: str
) -> list[dict]:
    """Volume and count per (day or month, currency) from `first_day` to `last_day` included,
    cut in the active time zone: one GROUP BY over the range's rows."""
    bucket = (
        TruncDate("created_at")
        if unit == "day"
        else TruncMonth("created_at", output_field=DateField())
    )
    until = last_day + datetime.timedelta(days=1)
    with reporting_reads():
        return list(
            Payment.objects.filter(
                livemode=livemode,
                created_at__gte=_aware_midnight(first_day),
                created_at__lt=_aware_midnight(until),
            )
            .annotate(bucket=bucket)
            .values("bucket", "currency")
            .annotate(amount=Sum("amount"), count=Count("id"))
            .order_by("bucket", "currency")
        )


def _buckets(chart_range: ChartRange) -> list[datetime.date]:
    if chart_range.unit == "day":
        days = (chart_range.last_day - chart_range.first_day).days + 1
        return [chart_range.first_day + datetime.timedelta(days=n) for n in range(days)]
    months, month = [], _month_start(chart_range.first_day)
    while month <= chart_range.last_day:
        months.append(month)
        month = _month_start(month + datetime.timedelta(days=31))
    return months


def _totals(rows: list[dict]) -> list[Volume]:
    totals: dict[str, list[int]] = {}
    for row in rows:
        total = totals.setdefault(row["currency"], [0, 0])
        total[0] += row["amount"]
        total[1] += row["count"]
    return [Volume(currency, amount, count) for currency, (amount, count) in sorted(totals.items())]


def _chart(
    *, rows: list[dict], chart_range: ChartRange, default_currency: str, locale: str
) -> BarChart:
    by_currency = {volume.currency: volume.amount for volume in _totals(rows)}
    currency = default_currency
    if by_currency and default_currency not in by_currency:
        currency = max(sorted(by_currency), key=lambda code: by_currency[code])
    per_bucket = {row["bucket"]: row for row in rows if row["currency"] == currency}
    daily = chart_range.unit == "day"
    short, long = ("MMMd", "yMMMd") if daily else ("MMMyy", "yMMMM")
    groups = []
    for bucket in _buckets(chart_range):
        row = per_bucket.get(bucket, {"amount": 0, "count": 0})
        groups.append(
            Group(
                short_label=format_skeleton(short, bucket, locale=locale),
                long_label=format_skeleton(long, bucket, locale=locale),
                values=(row["amount"],),
                note=f"{row['count']} payment{'s' if row['count'] != 1 else ''}",
            )
        )
    per = "day" if daily else "month"
    return bar_chart_build(
        title=f"{currency} paid per {per}",
        currency=currency,
        series=[PAID],
        groups=groups,
        locale=locale,
    )


def dashboard_figures(
    *,
    livemode: bool,
    default_currency: str,
    chart_range: ChartRange | None = None,
    locale: str = "en",
    now: datetime.datetime | None = None,
) -> DashboardFigures:
    """Gross payment volume (refunds not deducted) and count per currency for today (since
    midnight in the active time zone), the last 7 and the last 30 days (today included), and
    the chart over `chart_range` (30 days by default) in the chart currency: the default
    currency, or the currency with the most volume in the range when the default has none."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    chart_range = chart_range or chart_range_resolve(key=DEFAULT_RANGE, today=today)
    first_day = today - datetime.timedelta(days=WINDOWS[-1][2] - 1)
    rows = payment_volume_by(livemode=livemode, first_day=first_day, last_day=today, unit="day")
    windows = []
    for key, label, days in WINDOWS:
        start = today - datetime.timedelta(days=days - 1)
        windows.append(Window(key, label, _totals([r for r in rows if r["bucket"] >= start])))
    range_rows = payment_volume_by(
        livemode=livemode,
        first_day=chart_range.first_day,
        last_day=chart_range.last_day,
        unit=chart_range.unit,
    )
    return DashboardFigures(
        livemode=livemode,
        windows=windows,
        chart_range=chart_range,
        chart=_chart(
            rows=range_rows,
            chart_range=chart_range,
            default_currency=default_currency,
            locale=locale,
        ),
        range_volumes=_totals(range_rows),
        range_text=" \u2013 ".join(
            format_skeleton("yMMMd", day, locale=locale)
            for day in (chart_range.first_day, chart_range.last_day)
        ),
    )


def dashboard_mode_default() -> bool:
    """Live when the merchant has any live payment, else test."""
    with reporting_reads():
        return Payment.objects.filter(livemode=True).exists()
