"""Timestamps as Voucherify writes them (ISO 8601, UTC, milliseconds) and as people type them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

MILLISECOND = timedelta(milliseconds=1)


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
OUT_OF_RANGE = ("{value!r} is outside the dates the dashboard can handle; use one between "
                "0001-01-02 and 9999-12-30.")


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime from an upstream value, or None when it is missing or odd.

    A moment just outside what Python can hold (0001-01-01T00:00:00+01:00 is in year 0 in
    UTC) is read as the first or last moment that it can: the action still shows."""
    if isinstance(value, datetime):
        return _clamped(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _clamped(_parse(value))
    except ValueError:
        return None


def parse_user_datetime(value: str) -> datetime:
    """A date or date-time typed by a person; no zone means UTC, a bare date means midnight."""
    parsed = _parse(value)
    try:
        return _as_utc(parsed)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE.format(value=value[:40])) from None


def parse_user_day(value: str) -> date:
    """A day typed by a person (2026-11-01), with a day on either side that exists too, as
    filters reaching to the end of a day need."""
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not a date such as 2026-11-01 (year-month-day)."
        ) from None
    if not date.min < day < date.max:
        raise ValueError(OUT_OF_RANGE.format(value=text))
    return day


def _parse(value: str) -> datetime:
    """The date or date-time as written, in its own zone (naive when it names none)."""
    text = value.strip()
    if not text:
        raise ValueError("An empty value is not a date; use one such as 2026-11-01.")
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return datetime(day.year, day.month, day.day)
    candidate = text.replace(" ", "T", 1) if " " in text else text
    if candidate[-1:] in ("z", "Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"{value[:40]!r} is not a date or time such as 2026-11-01 or 2026-11-01T10:00:00Z."
        ) from None
    return parsed


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Voucherify writes it.

    Sub-millisecond precision (which Voucherify never produces) is kept as microseconds so
    that a value survives a round trip unchanged.
    """
    moment = _as_utc(moment)
    base = moment.isoformat(timespec="seconds")[:19]  # strftime's %Y drops a year's zeros
    if moment.microsecond % 1000:
        return f"{base}.{moment.microsecond:06d}Z"
    return f"{base}.{moment.microsecond // 1000:03d}Z"


def floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def ceil_ms(moment: datetime) -> datetime:
    floored = floor_ms(moment)
    return floored if floored == moment else plus_ms(floored)


def plus_ms(moment: datetime) -> datetime:
    """One millisecond later, or the moment itself at the end of representable time."""
    try:
        return moment + MILLISECOND
    except OverflowError:
        return LATEST


def _clamped(moment: datetime) -> datetime:
    try:
        return _as_utc(moment)
    except OverflowError:
        return EARLIEST if moment.year < 5000 else LATEST


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
