"""Bar charts drawn on the server as SVG, for the portal's overview and the finance console.

No charting library and no script is needed to draw them: x positions are percentages of the
chart's width (so it fits a phone and a desktop alike) and y positions are pixels of a fixed
height; axis labels are text at the page's own size. Every bar group is a list item named
like its tooltip ("3 Dec 2026: €120.00, 4 payments"), reachable with the keyboard (one tab
stop, then the arrow keys: superpayment/static/superpayment/portal.js), and the same figures
are in a table under the chart."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from babel.numbers import format_compact_currency

from superpayment.money import amount_format, currency_exponent

PLOT_TOP = 8  # px above the highest tick, so its label is not cut
PLOT_HEIGHT = 180
LABEL_ROW = 26  # px under the plot for the x-axis labels
BAR_FILL = 0.7  # share of a slot the bars of one group take
MAX_X_LABELS = 6
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str  # "Paid", "Billed"
    css_class: str  # bar colour (site.css): "series-a", "series-b"


@dataclass(frozen=True)
class Group:
    """One slot of the x axis (a day, a month) with one value per series, in minor units."""

    short_label: str  # on the axis: "3 Dec"
    long_label: str  # in the tooltip and table: "3 Dec 2026"
    values: tuple[int, ...]
    note: str = ""  # more for the tooltip: "4 payments"


@dataclass(frozen=True)
class Bar:
    x: str  # "%"
    width: str  # "%"
    y: int
    height: int
    css_class: str


@dataclass(frozen=True)
class Point:
    index: int
    title: str  # "3 Dec 2026"
    label: str  # the accessible name: "3 Dec 2026: Paid €120.00, 4 payments"
    lines: list[str]  # the tooltip's lines: "Paid €120.00", "4 payments"
    cells: list[str]  # the table's cells: "€120.00", "4 payments"
    hit_x: str
    hit_width: str
    bars: list[Bar]


@dataclass(frozen=True)
class Tick:
    y: int
    label: str


@dataclass(frozen=True)
class XLabel:
    x: str
    anchor: str
    text: str
    minor: bool  # every other label: hidden on a phone's width (site.css), so labels never overlap


@dataclass
class BarChart:
    title: str
    currency: str
    series: list[Series]
    groups: list[Group]
    points: list[Point] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    x_labels: list[XLabel] = field(default_factory=list)
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_TOP + PLOT_HEIGHT
    height: int = PLOT_TOP + PLOT_HEIGHT + LABEL_ROW

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def label_y(self) -> int:
        return self.plot_bottom + 18

    @property
    def rows(self) -> list[tuple[str, list[str]]]:
        """The table under the chart: (label, formatted values per series)."""
        return [(point.title, point.cells) for point in self.points]


def _percent(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") + "%"


def nice_step(peak: float, ticks: int = TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) so that `ticks` steps reach at least `peak`."""
    if peak <= 0:
        return 1.0
    rough = peak / ticks
    magnitude = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= rough:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _tick_label(major: float, currency: str, locale: str) -> str:
    value = Decimal(str(major))
    return format_compact_currency(value, currency, locale=locale, fraction_digits=1)


def bar_chart_build(
    *, title: str, currency: str, series: list[Series], groups: list[Group], locale: str
) -> BarChart:
    """Lay the groups out: ticks from 0 to a round top, one slot per group, the bars of each
    group side by side, an x label on at most MAX_X_LABELS slots."""
    chart = BarChart(title=title, currency=currency, series=series, groups=groups)
    exponent = currency_exponent(currency)
    peak_minor = max((value for group in groups for value in group.values), default=0)
    peak = max(peak_minor, 0) / 10**exponent
    # Never finer than the currency's minor unit (no "¥0.5" tick).
    step = max(nice_step(peak or 1), 10**-exponent)
    top = step * max(1, math.ceil(peak / step)) if peak else step * TICKS
    steps = round(top / step)
    for n in range(steps + 1):
        value = n * step
        y = chart.plot_bottom - round(PLOT_HEIGHT * value / top)
        chart.ticks.append(Tick(y=y, label=_tick_label(value, currency, locale)))

    count = len(groups) or 1
    slot = 100 / count
    bar_width = slot * BAR_FILL / max(len(series), 1)
    label_every = max(1, math.ceil(count / MAX_X_LABELS))
    top_minor = top * 10**exponent
    for index, group in enumerate(groups):
        start = index * slot + slot * (1 - BAR_FILL) / 2
        bars = []
        for position, (one, value) in enumerate(zip(series, group.values, strict=True)):
            height = round(PLOT_HEIGHT * max(value, 0) / top_minor) if top_minor else 0
            if value > 0 and height == 0:
                height = 1  # a slot with something in it always shows
            bars.append(
                Bar(
                    x=_percent(start + position * bar_width),
                    width=_percent(bar_width),
                    y=chart.plot_bottom - height,
                    height=height,
                    css_class=one.css_class,
                )
            )
        amounts = [amount_format(value, currency, locale) for value in group.values]
        notes = [group.note] if group.note else []
        lines = [f"{one.name} {amount}" for one, amount in zip(series, amounts, strict=True)]
        spoken = ", ".join(lines + notes)
        chart.points.append(
            Point(
                index=index,
                title=group.long_label,
                label=f"{group.long_label}: {spoken}",
                lines=lines + notes,
                cells=amounts + notes,
                hit_x=_percent(index * slot),
                hit_width=_percent(slot),
                bars=bars,
            )
        )
        if index % label_every == 0:
            centre = index * slot + slot / 2
            anchor = "start" if centre < 8 else "end" if centre > 92 else "middle"
            x = 0 if anchor == "start" else 100 if anchor == "end" else centre
            minor = len(chart.x_labels) % 2 == 1
            chart.x_labels.append(
                XLabel(x=_percent(x), anchor=anchor, text=group.short_label, minor=minor)
            )
    return chart
