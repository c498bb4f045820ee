"""Server-rendered SVG charts: no JavaScript, no CDN, Chinese labels in the page's own fonts.

Colours and line styles come from classes in static/reports/reports.css (so the print stylesheet
can adjust them); text is escaped with format_html.
"""

import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from . import rates


def _number(value) -> str:
    return f"{value:,}"


def text_width(text: str, *, size: int = 13) -> int:
    """Roughly how wide a label is drawn, in SVG units: a CJK character is about one em wide, a
    Latin character about 0.55 em (enough to keep labels from overlapping in either language)."""
    ems = sum(1.0 if ord(char) > 0x2E7F else 0.55 for char in str(text))
    return round(ems * size)


def channel_bars(rows, *, title: str) -> SafeString:
    """Horizontal bars, one per channel: name, bar, count and share."""
    bar_width, row_height = 300, 26
    label_width = max([150] + [text_width(row.name) + 16 for row in rows])
    height = row_height * len(rows) + 10
    width = label_width + bar_width + 150
    largest = max((row.placed for row in rows), default=0) or 1
    bars = []
    for i, row in enumerate(rows):
        y = 5 + i * row_height
        length = round(bar_width * row.placed / largest, 1)
        bars.append(
            format_html(
                '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>'
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="chart-value" x="{}" y="{}">{}（{}%）</text>',
                label_width - 8,
                y + 17,
                row.name,
                label_width,
                y + 4,
                length,
                row_height - 8,
                label_width + length + 6,
                y + 17,
                _number(row.placed),
                rates.as_text(row.share),
            )
        )
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet"><title>{}</title>{}</svg>',
        width,
        height,
        title,
        mark_safe("".join(bars)),  # noqa: S308 - each part was built with format_html
    )


def cumulative_line(points, *, year: int, target: int | None, title: str) -> SafeString:
    """Cumulative workers placed by month's end, the annual target, and the elapsed-time line
    (the target spread evenly over the days of the year)."""
    width, height = 640, 300
    left, right, top, bottom = 64, 16, 36, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    days = rates.days_in_year(year)
    highest = max([p.cumulative for p in points] + [target or 0, 1])
    top_value = _nice_ceiling(highest)

    def x(day_of_year: int) -> float:
        return round(left + plot_w * day_of_year / days, 1)

    def y(value) -> float:
        return round(top + plot_h - plot_h * float(value) / top_value, 1)

    parts = []
    for i in range(5):
        value = top_value * i // 4
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                y(value),
                left + plot_w,
                y(value),
                left - 6,
                y(value) + 4,
                _number(value),
            )
        )
    for month in range(1, 13):
        mid = rates.days_passed(year=year, as_of=_month_middle(year, month))
        parts.append(
            format_html(
                '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                x(mid),
                top + plot_h + 18,
                _("%(month)s月") % {"month": month},
            )
        )
    if target:
        parts.append(
            format_html(
                '<line class="line-target" x1="{}" y1="{}" x2="{}" y2="{}"></line>'
                '<line class="line-elapsed" x1="{}" y1="{}" x2="{}" y2="{}"></line>',
                left,
                y(target),
                left + plot_w,
                y(target),
                x(0),
                y(0),
                x(days),
                y(target),
            )
        )
    if points:
        coordinates = [(x(0), y(0))] + [
            (x(rates.days_passed(year=year, as_of=p.day)), y(p.cumulative)) for p in points
        ]
        parts.append(
            format_html(
                '<polyline class="line-placed" points="{}"></polyline>',
                " ".join(f"{cx},{cy}" for cx, cy in coordinates),
            )
        )
        parts.append(
            format_html_join(
                "",
                '<circle class="dot-placed" cx="{}" cy="{}" r="3"></circle>',
                coordinates[1:],
            )
        )
        last_x, last_y = coordinates[-1]
        parts.append(
            format_html(
                '<text class="chart-value" x="{}" y="{}" text-anchor="end">{}</text>',
                last_x - 4,
                last_y - 8,
                _number(points[-1].cumulative),
            )
        )
    legend = [("line-placed", _("累计安置"))]
    if target:
        legend += [("line-target", _("年度目标")), ("line-elapsed", _("序时进度"))]
    lx = left
    for css, label in legend:
        parts.append(
            format_html(
                '<line class="{}" x1="{}" y1="14" x2="{}" y2="14"></line>'
                '<text class="chart-label" x="{}" y="19">{}</text>',
                css,
                lx,
                lx + 28,
                lx + 34,
                label,
            )
        )
        lx += 34 + text_width(label, size=12) + 24
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMinYMin meet"><title>{}</title>{}</svg>',
        width,
        height,
        title,
        mark_safe("".join(parts)),  # noqa: S308 - each part was built with format_html
    )


def _month_middle(year: int, month: int) -> datetime.date:
    return datetime.date(year, month, 15)


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above `value` whose quarters are whole round numbers (the grid
    has five lines): four times a round step (1, 1.5, 2, 2.5 … 8 times a power of ten)."""
    raw = max(value, 1) / 4
    magnitude = 1
    while magnitude * 10 <= raw:
        magnitude *= 10
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10):
        quarter = magnitude * step
        if quarter >= raw and float(quarter).is_integer():
            return int(quarter) * 4
    return magnitude * 40
