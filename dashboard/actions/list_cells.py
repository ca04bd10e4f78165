"""The small pieces of markup a list row repeats (status, progress, a time), built in Python.

A 100-row list page shows several of these per row: as included templates they cost most of
the page's render (bench/render.py). The templates that show one of them elsewhere
(actions/_status.html, _progress.html, _time.html) call these same functions, so the markup
has one source. format_html escapes every value.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard.formatting import relative_time, utc_iso, utc_text
from dashboard.voucherify.catalog import DONE, status_class, status_label
from dashboard.voucherify.models import Action


def status_badge(status: object) -> SafeString:
    return format_html('<span class="status {}">{}</span>', status_class(status),
                       status_label(status))


def progress_bar(progress: object, label: str = "Progress") -> SafeString:
    if progress is None or progress == "":  # "": a template passed no progress at all
        return mark_safe("")
    return format_html(
        '<progress max="100" value="{}" aria-label="{}" aria-valuenow="{}" aria-valuemin="0" '
        'aria-valuemax="100">{}%</progress> <span class="progress-text">{}%</span>',
        progress, label or "Progress", progress, progress, progress,
    )


def time_tag(moment: datetime | None) -> SafeString:
    """A moment as a <time> the browser keeps relative (static/js/app.js); "—" without one."""
    if not moment:
        return mark_safe('<span class="muted">—</span>')
    return format_html('<time datetime="{}" title="{}" data-relative>{}</time>',
                       utc_iso(moment), utc_text(moment), relative_time(moment))


def status_cell(record: Action, failed: int | None) -> SafeString:
    """A list row's status: progress while live; a DONE row's failed rows once known."""
    if record.status == DONE and failed:
        html = format_html('<span class="status status-DONE-failures">Done · {} failed</span>',
                           failed)
    else:
        html = status_badge(record.status)
    if record.is_live and record.progress is not None:
        html = format_html("{} {}", html, progress_bar(record.progress))
    return html


def phone_key(record: Action, failed: int | None) -> SafeString:
    """Status and created time again inside the first column, shown on a phone only (CSS),
    where that column stays put while the others scroll; hidden from screen readers, which
    read the row's own cells. Own classes, so row.locator(".status") and time[data-relative]
    still name the row's cells."""
    if record.status == DONE and failed:
        status = format_html('<span class="key-status status-DONE-failures">Done · {} failed'
                             '</span>', failed)
    else:
        status = format_html('<span class="key-status {}">{}</span>',
                             status_class(record.status), status_label(record.status))
    return format_html('<span class="phone-key" aria-hidden="true">{} · '
                       '<span class="key-time">{}</span></span>\n',
                       status, relative_time(record.created_at))
