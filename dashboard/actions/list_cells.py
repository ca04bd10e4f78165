"""The small pieces of markup a list row repeats (status, progress, a time), built in Python.

A 100-row list page shows several of these per row: as included templates they cost most of
the page's render (bench/render.py). The templates that show one of them elsewhere
(actions/_status.html, _progress.html, _time.html) call these same functions, so the markup
has one source. Every value goes through `esc` (what format_html does to its arguments, minus
its per-call overhead, which a 100-row page pays thousands of times), and the markup built is
wrapped in SafeString directly: what mark_safe makes of a str, without its lazy-string wrapper
(ten times the cost, a thousand times a page).
"""

from __future__ import annotations

import html
from datetime import datetime

from django.utils.safestring import SafeString

from dashboard.formatting import relative_time, utc_iso_and_text
from dashboard.voucherify.catalog import (
    DONE,
    FILTER_STATUS_KEYS,
    UNKNOWN_STATUS,
    status_class,
    status_label,
)
from dashboard.voucherify.models import Action


def esc(value: object) -> str:
    """`value` escaped for HTML, as conditional_escape would: safe strings stay as they are."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def status_badge(status: object, css: str = "status") -> SafeString:
    """A status as people read it, coloured by its class; `css`: the span's own class. A
    documented status's badge is written once (a list page shows two a row)."""
    known = _KNOWN_BADGES.get((status, css)) if isinstance(status, str) else None
    return known if known is not None else _badge(status, css)


def _badge(status: object, css: str) -> SafeString:
    return SafeString(f'<span class="{css} {esc(status_class(status))}">'
                      f'{esc(status_label(status))}</span>')


_KNOWN_BADGES = {(status, css): _badge(status, css)
                 for status in (*FILTER_STATUS_KEYS, UNKNOWN_STATUS)  # the upstream's, and ours
                 for css in ("status", "key-status")}


def progress_bar(progress: object, label: str = "Progress") -> SafeString:
    if progress is None or progress == "":  # "": a template passed no progress at all
        return SafeString("")
    value, label = esc(progress), esc(label or "Progress")
    return SafeString(
        f'<progress max="100" value="{value}" aria-label="{label}" aria-valuenow="{value}" '
        f'aria-valuemin="0" aria-valuemax="100">{value}%</progress> '
        f'<span class="progress-text">{value}%</span>'
    )


def time_tag(moment: datetime | None, now: datetime | None = None) -> SafeString:
    """A moment as a <time> the browser keeps relative (static/js/app.js); "—" without one.
    `now`: the moment it is relative to (a table's rows share one). Its three texts are
    digits, units and punctuation: nothing to escape."""
    if not moment:
        return SafeString('<span class="muted">—</span>')
    iso, text = utc_iso_and_text(moment)
    return SafeString(f'<time datetime="{iso}" title="{text}" data-relative>'
                      f'{relative_time(moment, now)}</time>')


def _row_status(record: Action, failed: int | None, css: str) -> str:
    """A row's status as a <span class="{css} ...">: a DONE row's failed rows once known."""
    if record.status == DONE and failed:
        return f'<span class="{css} status-DONE-failures">Done · {esc(failed)} failed</span>'
    return status_badge(record.status, css)


def status_cell(record: Action, failed: int | None) -> SafeString:
    """A list row's status: progress while live; a DONE row's failed rows once known."""
    text = _row_status(record, failed, "status")
    if record.is_live and record.progress is not None:
        text = f"{text} {progress_bar(record.progress)}"
    return SafeString(text)


def phone_key(record: Action, failed: int | None, now: datetime | None = None) -> SafeString:
    """Status and created time again inside the first column, shown on a phone only (CSS),
    where that column stays put while the others scroll; hidden from screen readers, which
    read the row's own cells. Own classes, so row.locator(".status") and time[data-relative]
    still name the row's cells."""
    status = _row_status(record, failed, "key-status")
    return SafeString(f'<span class="phone-key" aria-hidden="true">{status} · '
                      f'<span class="key-time">{relative_time(record.created_at, now)}</span>'
                      '</span>\n')
