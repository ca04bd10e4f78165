"""How times, durations and ids read on a page: plain functions, registered as template filters
by dashboard/actions/templatetags/action_format.py and called directly by Python code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString


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


def duration_ms(value: int | float | None) -> str:
    """Processing time in milliseconds, as a human duration."""
    if value is None or value == "":
        return "—"
    try:
        return format_duration(float(value) / 1000)
    except (TypeError, ValueError):
        return "—"


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


def moment_ago(seconds: float | None) -> datetime | None:
    """The moment `seconds` before now (a page's "read 22 s ago" as a <time> that keeps
    counting)."""
    if seconds is None or seconds == "":
        return None
    try:
        return timezone.now() - timedelta(seconds=float(seconds))
    except (TypeError, ValueError, OverflowError):
        return None


def utc_iso_and_text(moment: datetime) -> tuple[str, str]:
    """The moment in UTC for <time datetime=...> ("2026-11-30T04:46:13.425Z") and for people
    ("2026-11-30 04:46:13 UTC"), from one conversion: a list page writes two per row.
    isoformat writes every year with four digits (strftime's %Y drops a year's leading zeros
    on glibc: "1-01-02")."""
    iso = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return f"{iso[:23]}Z", f"{iso[:10]} {iso[11:19]} UTC"


def utc_iso(moment: datetime | None) -> str:
    """Exact machine-readable UTC time for <time datetime=...>."""
    return "" if moment is None else utc_iso_and_text(moment)[0]


def utc_text(moment: datetime | None) -> str:
    """Exact human-readable UTC time."""
    return "—" if moment is None else utc_iso_and_text(moment)[1]


def short_id(action_id: str | None) -> str:
    """The tail of an id, enough to tell actions apart in a table ("…b6113f")."""
    if not action_id:
        return ""
    return action_id if len(action_id) <= 12 else f"…{action_id[-8:]}"


def exact_time(moment: datetime) -> SafeString:
    """A <time> element with the exact UTC time, for sentences built in Python."""
    return format_html('<time datetime="{}">{}</time>', utc_iso(moment), utc_text(moment))


def day_span(start: datetime, end: datetime) -> SafeString:
    """Two UTC days as people write them: "1–28 Nov 2026", "30 Oct – 2 Nov 2026", one day
    alone when both fall on it; each a <time> element."""
    first, last = sorted((start.astimezone(UTC), end.astimezone(UTC)))

    def day(moment: datetime, text: str) -> SafeString:
        return format_html('<time datetime="{}">{}</time>', moment.date().isoformat(), text)

    full = f"{last.day} {last:%b %Y}"
    if first.date() == last.date():
        return day(last, full)
    if (first.year, first.month) == (last.year, last.month):
        return format_html("{}–{}", day(first, str(first.day)), day(last, full))
    opening = f"{first.day} {first:%b}" if first.year == last.year else f"{first.day} {first:%b %Y}"
    return format_html("{} – {}", day(first, opening), day(last, full))


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """'1 action', '3 actions', '2 matches'."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


CLIP_LIMIT = 300  # characters of an upstream text shown before "Show all"
ELLIPSIS = "…"


def clip_text(value: object, limit: int = CLIP_LIMIT) -> str:
    """Plain text cut to `limit` characters with an ellipsis (for titles, tables, sentences):
    a 1 MB single word laid out in full keeps a browser busy for minutes."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + ELLIPSIS
