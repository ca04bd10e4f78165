"""Template filters that format what actions carry: durations, relative times, statuses."""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.urls import reverse
from django.utils import timezone

from dashboard.actions.templatetags.long_text import clip_text
from dashboard.voucherify.cursor import is_valid_action_id

register = template.Library()

STATUS_LABELS = {
    "ENQUEUED": "Enqueued",
    "IN_PROGRESS": "In progress",
    "DONE": "Done",
    "FAILED": "Failed",
}


@register.filter
def status_label(status: str | None) -> str:
    """Human text for a status; unknown statuses are shown as received."""
    if not status:
        return "Unknown"
    return STATUS_LABELS.get(status, clip_text(status, 40))


@register.filter
def status_class(status: str | None) -> str:
    """A CSS class for the status colour; unknown statuses get a neutral one."""
    return f"status-{status}" if status in STATUS_LABELS else "status-UNKNOWN"


def format_duration(seconds: float | None) -> str:
    """Compact human duration: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min."""
    if seconds is None:
        return "—"
    if seconds < 0:
        seconds = 0
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{round(seconds)} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def duration_ms(value: int | float | None) -> str:
    """Processing time in milliseconds, as a human duration."""
    if value is None or value == "":
        return "—"
    try:
        return format_duration(float(value) / 1000)
    except (TypeError, ValueError):
        return "—"


@register.filter
def duration_s(value: int | float | None) -> str:
    """A number of seconds, as a human duration."""
    if value is None or value == "":
        return "—"
    try:
        return format_duration(float(value))
    except (TypeError, ValueError):
        return "—"


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    """'5 s ago', '3 min ago', 'in 2 h' — coarse, for scanning a table."""
    if moment is None:
        return "—"
    now = now or timezone.now()
    delta = (now - moment).total_seconds()
    if abs(delta) < 5:
        return "just now"
    text = format_duration(abs(delta)).split(" ")
    # Keep the leading unit only ("3 min", not "3 min 5 s") for readability in tables.
    short = " ".join(text[:2])
    return f"{short} ago" if delta > 0 else f"in {short}"


@register.filter(name="relative_time")
def relative_time_filter(moment: datetime | None) -> str:
    return relative_time(moment)


@register.filter
def utc_iso(moment: datetime | None) -> str:
    """Exact machine-readable UTC time for <time datetime=...>."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@register.filter
def utc_text(moment: datetime | None) -> str:
    """Exact human-readable UTC time."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def short_id(action_id: str | None) -> str:
    """The tail of an id, enough to tell actions apart in a table ("…b6113f")."""
    if not action_id:
        return ""
    return action_id if len(action_id) <= 12 else f"…{action_id[-8:]}"


@register.filter
def detail_url(action_id: object) -> str:
    """The action's page; "" for an id that is not a valid one (Voucherify sent it, but no
    page can have it: it is shown without a link)."""
    if not is_valid_action_id(action_id):
        return ""
    return reverse("actions:detail", args=[action_id])
