"""The UTC texts of a moment (a <time>'s datetime attribute and title), written from one
conversion for the list's two times a row, are the texts strftime wrote, for any moment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from dashboard.actions.list_cells import time_tag
from dashboard.formatting import utc_iso, utc_iso_and_text, utc_text


def generated_moments(count: int) -> list[datetime]:
    """Moments over the whole range Python can convert to UTC, at any microsecond and any
    offset, UTC's own and naive-free."""
    rng = random.Random(20261130)
    lowest, highest = datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)
    span = int((highest - lowest).total_seconds())
    moments = []
    for _ in range(count):
        moment = lowest + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6))
        offset = timezone(timedelta(minutes=rng.randrange(-23 * 60, 23 * 60 + 1)))
        moments.append(moment.astimezone(rng.choice([UTC, offset])))
    return moments


def strftime_texts(moment: datetime) -> tuple[str, str]:
    """What the texts were when strftime wrote them, with the year's four digits written out."""
    moment = moment.astimezone(UTC)
    day = f"{moment.year:04d}-{moment:%m-%d}"
    return (f"{day}T{moment:%H:%M:%S}.{moment:%f}"[:-3] + "Z",
            f"{day} {moment:%H:%M:%S} UTC")


def test_the_utc_texts_are_the_ones_strftime_wrote():
    wrong = [(moment, utc_iso_and_text(moment), utc_iso(moment), utc_text(moment))
             for moment in generated_moments(20_000)
             if not utc_iso_and_text(moment) == (utc_iso(moment), utc_text(moment))
             == strftime_texts(moment)]
    assert not wrong, wrong[:5]


def test_a_year_before_1000_keeps_its_four_digits_in_the_machine_readable_time():
    """strftime's %Y wrote "1-01-02" on glibc, which no browser reads as a date."""
    moment = datetime(1, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    assert utc_iso(moment) == "0001-01-02T03:04:05.678Z"
    assert utc_text(moment) == "0001-01-02 03:04:05 UTC"


def test_no_moment_reads_as_nothing_or_a_dash():
    assert (utc_iso(None), utc_text(None)) == ("", "—")
    assert time_tag(None) == '<span class="muted">—</span>'


def test_a_time_tag_is_relative_to_the_moment_its_table_gives():
    moment = datetime(2026, 11, 30, 4, 46, 13, 425_999, tzinfo=timezone(timedelta(hours=2)))
    assert time_tag(moment, moment + timedelta(hours=3, minutes=5)) == (
        '<time datetime="2026-11-30T02:46:13.425Z" title="2026-11-30 02:46:13 UTC" '
        "data-relative>3 h ago</time>")
    assert "data-relative>in 2 min</time>" in time_tag(moment, moment - timedelta(minutes=2))
