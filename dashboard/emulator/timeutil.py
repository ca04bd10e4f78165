"""Timestamps the way Voucherify writes them, and the `end_date` forms it accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_END_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def format_ms(ms: int) -> str:
    """`2023-01-20T07:23:43.289Z`: millisecond precision, always UTC with `Z`."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_end_date(raw: str) -> int | None:
    """Milliseconds since the epoch of an ISO 8601 date or date-time; None when unreadable.

    A date alone means midnight UTC; a date-time without a zone is read as UTC. Fractions
    finer than a millisecond are truncated, as a JavaScript Date would.
    """
    match = _END_DATE.match(raw.strip()) if raw else None
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            millis * 1000, tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            moment = moment - offset if zone[0] == "+" else moment + offset
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable day
            return None
    return to_ms(moment)


def parse_timestamp(raw: object) -> int | None:
    """Milliseconds of a stored `created_at`-like value, None when it is not one."""
    return parse_end_date(raw) if isinstance(raw, str) else None
