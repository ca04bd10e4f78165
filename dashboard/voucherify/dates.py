"""Timestamps as Voucherify writes them (ISO 8601, UTC, milliseconds) and as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MILLISECOND = timedelta(milliseconds=1)


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from an upstream value, or None when it is missing or odd."""
    if isinstance(value, datetime):
        return _as_utc(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_user_datetime(value)
    except ValueError:
        return None


def parse_user_datetime(value: str) -> datetime:
    """A date or date-time typed by a person; no zone means UTC, a bare date means midnight."""
    text = value.strip()
    if not text:
        raise ValueError("An empty value is not a date; use one such as 2026-11-01.")
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
    candidate = text.replace(" ", "T", 1) if " " in text else text
    if candidate[-1:] in ("z", "Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not a date or time such as 2026-11-01 or 2026-11-01T10:00:00Z."
        ) from None
    return _as_utc(parsed)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Voucherify writes it.

    Sub-millisecond precision (which Voucherify never produces) is kept as microseconds so
    that a value survives a round trip unchanged.
    """
    moment = _as_utc(moment)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000:
        return f"{base}.{moment.microsecond:06d}Z"
    return f"{base}.{moment.microsecond // 1000:03d}Z"


def floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def ceil_ms(moment: datetime) -> datetime:
    floored = floor_ms(moment)
    return floored if floored == moment else floored + MILLISECOND


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
