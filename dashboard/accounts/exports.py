"""Recording CSV exports, so auditors can see who took which data and when."""

from __future__ import annotations

import ipaddress

from django.http import HttpRequest

from dashboard.accounts.models import ExportRecord
from dashboard.formatting import clip_text


def client_ip(request: HttpRequest) -> str | None:
    """The peer address (a proxy's X-Forwarded-For is not trusted: anyone can send it)."""
    raw = request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


# Query-string names an auditor would not recognise, in words.
FILTER_LABELS = {"q": "search"}
# The log's columns: a longer filter text is cut (it is whole in `filters`), a longer link
# not kept.
FILTER_TEXT_LIMIT = ExportRecord._meta.get_field("filter_text").max_length
LINK_LIMIT = ExportRecord._meta.get_field("link").max_length


def filter_text(filters: object) -> str:
    """{"reason": "Duplicated code", "q": "x"} -> "reason Duplicated code, search x"."""
    if not isinstance(filters, dict) or not filters:
        return ""
    text = ", ".join(f"{FILTER_LABELS.get(name, name)} {value}"
                     for name, value in filters.items())
    return clip_text(text, FILTER_TEXT_LIMIT - 1)  # the ellipsis says the rest is in `filters`


def record_export(
    request: HttpRequest, *, what: str, action_id: str | None = None, rows: int | None = None,
    filters: dict[str, str] | None = None, link: str = "",
) -> None:
    """Log one export by the request's user; call it from every view that serves a CSV.

    `filters`: what was selected; `link`: the dashboard address of the same filtered view,
    kept only when whole (cut, it would open another filter than the one exported)."""
    user = request.user if request.user.is_authenticated else None
    ExportRecord.objects.create(
        user=user,
        username=user.get_username() if user else "",
        what=what[:100],
        action_id=(action_id or "")[:100],
        rows=rows,
        filters=dict(filters or {}),
        filter_text=filter_text(filters),
        link=link if link.startswith("/") and len(link) <= LINK_LIMIT else "",
        ip=client_ip(request),
    )
