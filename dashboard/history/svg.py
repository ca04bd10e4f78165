"""Server-rendered SVG charts: no script, no inline style (colours are presentation
attributes and CSS classes), a <title>/<desc> text alternative and a <title> on every mark
for hover. The numbers are also in tables beside each chart."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from dashboard.formatting import format_duration
from dashboard.voucherify.catalog import DONE, DONE_WITH_FAILURES, FAILED, status_label

from .charts import SERIES, DayBar, TypeFigures

COLOURS = {DONE: "#1e7b3a", FAILED: "#b3261e", DONE_WITH_FAILURES: "#c77700",
           "p50": "#2852c7", "p95": "#9db1e8"}
# The list a bar segment counts: (day, status, count) -> its URL.
DayLink = Callable[[date, str, int], str]
WIDTH = 720
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 46


def _svg(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> SafeString:
    head = (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped


def _text(x: float, y: float, text: str, css: str = "chart-label", anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" class="{css}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")


def _rect(x: float, y: float, w: float, h: float, css: str, fill: str, title: str,
          href: str | None = None) -> str:
    """A mark; with `href`, a click opens the list it counts (static/js/app.js). Not a link:
    a chart is one image to assistive technology, and the numbers table beside it holds the
    same links for the keyboard."""
    link = f' data-href="{escape(href)}"' if href else ""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
            f'class="{css}" fill="{fill}"{link}><title>{escape(title)}</title></rect>')


def tick_label(exponent: int) -> str:
    """10**exponent milliseconds, short: 1 ms, 100 ms, 1 s, 100 s, 10000 s."""
    return f"{10 ** exponent} ms" if exponent < 3 else f"{10 ** (exponent - 3)} s"


def nice_ceiling(value: int) -> int:
    """1, 2, 5, 10, 20, 50 … at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def day_summary(bar: DayBar) -> str:
    parts = ", ".join(f"{bar.counts[s]} {status_label(s).lower()}" for s in SERIES)
    return f"{bar.day.isoformat()}: {parts}"


def stacked_days(days: Sequence[DayBar], chart_id: str = "chart-days",
                 link: DayLink | None = None) -> SafeString:
    height = 260
    plot_h = height - TOP - BOTTOM
    plot_w = WIDTH - LEFT - RIGHT
    top_value = nice_ceiling(max((bar.total for bar in days), default=0))
    slot = plot_w / max(1, len(days))
    body: list[str] = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'class="chart-grid" stroke="#dde1e8"/>')
        label = top_value * fraction
        body.append(_text(LEFT - 6, y + 4, f"{label:g}", anchor="end"))
    for index, bar in enumerate(days):
        x = LEFT + index * slot + slot * 0.15
        base = TOP + plot_h
        body.append(f"<g><title>{escape(day_summary(bar))}</title>")
        for status in SERIES:
            count = bar.counts[status]
            if not count:
                continue
            h = plot_h * count / top_value
            base -= h
            tip = f"{bar.day.isoformat()}: {count} {status_label(status).lower()}"
            if status == DONE and bar.with_failures:
                tip += f", {bar.with_failures} of them with failed rows"
            href = link(bar.day, status, count) if link else None
            body.append(_rect(x, base, slot * 0.7, h, f"bar bar-{status}", COLOURS[status],
                              tip, href))
            if status == DONE and bar.with_failures:  # the top part of the done segment
                partly = plot_h * bar.with_failures / top_value
                href = link(bar.day, DONE_WITH_FAILURES, bar.with_failures) if link else None
                body.append(_rect(
                    x, base, slot * 0.7, partly, f"bar bar-{DONE_WITH_FAILURES}",
                    COLOURS[DONE_WITH_FAILURES],
                    f"{bar.day.isoformat()}: {bar.with_failures} done with failures", href))
        body.append("</g>")
        if index % 5 == 0 or index == len(days) - 1:
            body.append(_text(x + slot * 0.35, TOP + plot_h + 16, bar.day.strftime("%m-%d"),
                              anchor="middle"))
    legend_y = height - 10
    for n, status in enumerate((DONE, DONE_WITH_FAILURES, FAILED)):
        x = LEFT + n * 200
        body.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
                    f'class="legend-key bar-{status}" fill="{COLOURS[status]}"/>')
        body.append(_text(x + 18, legend_y, status_label(status)))
    total = sum(bar.total for bar in days)
    first, last = (days[0].day, days[-1].day) if days else (None, None)
    desc = (f"Stacked bars of archived actions per day from {first} to {last}, done and "
            f"failed: {total} in all; busiest day {max(days, key=lambda b: b.total).day} "
            f"with {max(b.total for b in days)}." if days and total else
            "No archived actions in these days.")
    return _svg(chart_id, "Actions per day by status", desc, height, body)


def failure_shares(types: Sequence[TypeFigures], chart_id: str = "chart-failures") -> SafeString:
    row_h, label_w = 22, 250
    height = TOP + row_h * max(1, len(types)) + 24
    plot_w = WIDTH - label_w - 70
    body = []
    for index, figures in enumerate(types):
        y = TOP + index * row_h
        body.append(_text(label_w - 8, y + 15, figures.label, anchor="end"))
        tip = (f"{figures.label}: {figures.failure_percent} % failed or done with failures "
               f"({figures.failed} failed, {figures.partly} done with failures, "
               f"of {figures.total})")
        body.append(_rect(label_w, y + 4, plot_w, row_h - 8, "bar bar-track", "#eef0f4", tip))
        body.append(_rect(label_w, y + 4, plot_w * figures.failure_share, row_h - 8,
                          f"bar bar-{DONE_WITH_FAILURES}", COLOURS[DONE_WITH_FAILURES], tip))
        body.append(_rect(label_w, y + 4, plot_w * figures.failed_share, row_h - 8,
                          f"bar bar-{FAILED}", COLOURS[FAILED], tip))
        body.append(_text(label_w + plot_w + 6, y + 15, f"{figures.failure_percent} %"))
    worst = max(types, key=lambda t: t.failure_share, default=None)
    desc = (f"Share of failed actions and actions done with failed rows for {len(types)} "
            f"types; highest {worst.label} at "
            f"{worst.failure_percent} %." if worst else "No archived actions in these days.")
    return _svg(chart_id, "Failure share per type", desc, height, body)


def durations(types: Sequence[TypeFigures], chart_id: str = "chart-durations") -> SafeString:
    """p50 and p95 per type on a logarithmic scale (durations span milliseconds to hours)."""
    timed = [t for t in types if t.p95_ms is not None]
    row_h, label_w = 22, 250
    height = TOP + row_h * max(1, len(timed)) + 40
    plot_w = WIDTH - label_w - 150
    high = max((t.p95_ms or 1 for t in timed), default=1000)
    top_exp = max(1, math.ceil(math.log10(max(high, 10))))

    def x_of(ms: int) -> float:
        return label_w + plot_w * min(1.0, math.log10(max(ms, 1)) / top_exp)

    body = []
    for exp in range(0, top_exp + 1):
        x = label_w + plot_w * exp / top_exp
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{height - 28}" '
                    f'class="chart-grid" stroke="#dde1e8"/>')
        body.append(_text(x, height - 14, tick_label(exp), anchor="middle"))
    for index, figures in enumerate(timed):
        y = TOP + index * row_h
        p50, p95 = format_duration(figures.p50_ms / 1000), format_duration(figures.p95_ms / 1000)
        body.append(_text(label_w - 8, y + 15, figures.label, anchor="end"))
        body.append(_rect(label_w, y + 4, x_of(figures.p95_ms) - label_w, row_h - 8, "bar bar-p95",
                          COLOURS["p95"], f"{figures.label}: p95 {p95}"))
        body.append(_rect(label_w, y + 7, x_of(figures.p50_ms) - label_w, row_h - 14,
                          "bar bar-p50", COLOURS["p50"], f"{figures.label}: p50 {p50}"))
        body.append(_text(label_w + plot_w + 6, y + 15, f"{p50} / {p95}"))
    slowest = max(timed, key=lambda t: t.p95_ms or 0, default=None)
    desc = (f"Median (p50, dark) and 95th percentile (p95, light) processing time for "
            f"{len(timed)} types on a logarithmic scale; slowest p95 {slowest.label} at "
            f"{format_duration(slowest.p95_ms / 1000)}." if slowest else
            "No processing times in these days.")
    return _svg(chart_id, "Processing time per type (p50 and p95)", desc, height, body)
