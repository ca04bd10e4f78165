"""Links from the overview's numbers to the list they count: one UTC day, one status.

The list's query-string names (dashboard.actions.list_params, a higher layer this package
does not import; a test parses these links with it): `start_date` and `end_date` bound the
day, `limit` fits the day on one page where the list allows it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.voucherify.dates import format_timestamp

DEFAULT_LIMIT, MAX_LIMIT = 25, 100  # the list's default and largest page


def day_list_url(day: date, status: str, count: int = 0) -> str:
    """The list of actions created on `day` (UTC) with `status` (or "Done with failures")."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    params = {"status": status, "start_date": format_timestamp(start)}
    if count > DEFAULT_LIMIT:
        params["limit"] = str(MAX_LIMIT)
    params["end_date"] = format_timestamp(start + timedelta(days=1))
    return f"{reverse('actions:list')}?{urlencode(params, safe=':')}"
