"""What an alert says: one readable sentence, a subject, and the JSON webhooks receive.

The audience decides what is included: failed rows (customers' data) only for roles that
may see them; an operator's failed-rows alert carries the counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from dashboard.formatting import ELLIPSIS, clip_text
from dashboard.voucherify.dates import format_timestamp
from dashboard.voucherify.models import Action

from . import rules

if TYPE_CHECKING:
    from .evaluate import Event

ROWS_IN_ALERT = 5  # failed rows shown to roles that may see them; the page has the rest
SUBJECT_MAX = 300  # Delivery.subject's length


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    payload: dict


def action_url(action_id: str) -> str:
    base = str(getattr(settings, "ALERTS_DASHBOARD_URL", "")).rstrip("/")
    return base + reverse("actions:detail", args=[action_id])


def compose(event: Event, audience: str) -> Message:
    action, facts = event.action, event.facts
    text = _SENTENCES[event.rule](action, facts)
    payload: dict = {
        "rule": event.rule,
        "text": text,
        "url": action_url(action.id),
        "action": {
            "id": action.id,
            "type": action.type,
            "status": action.status,
            "failed_count": facts.get("failed_count"),
            # As Voucherify writes it, so a receiver can match it with the API's own value
            "created_at": format_timestamp(action.created_at),
        },
    }
    if event.rule == rules.FAILED_ROWS:
        payload["counts"] = {name: facts[name] for name in ("failed_count", "total", "percent")}
        if audience in rules.SEES_ROWS:
            payload["failed_rows"] = _rows(action)
    elif event.rule == rules.PURGE:
        payload["purge"] = {name: facts[name] for name in ("who", "records", "purged_key")}
    elif event.rule == rules.STUCK:
        payload["stuck"] = {name: facts[name] for name in ("running_ms", "limit_ms", "p95_ms")}
    elif event.rule == rules.FAILURE_SHARE:
        payload["share"] = {"type": action.type} | {
            name: facts[name] for name in ("failed", "finished", "percent", "hours")
        }
    subject = f"[Voucherify alert] {event.rule}: {action.type or 'unknown type'}"
    return Message(subject=one_line(subject, SUBJECT_MAX), text=text, payload=payload)


def one_line(text: str, limit: int) -> str:
    """Upstream text fit for a header: no line breaks or other control characters (a mail
    subject with CR/LF is refused, and could add headers), at most `limit` characters."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else clip_text(flat, limit - len(ELLIPSIS))


def body(payload: dict) -> str:
    """The e-mail (and chat) body: the sentence, the link, and rows when the payload has them."""
    lines = [payload["text"], "", payload["url"]]
    rows = payload.get("failed_rows")
    if rows:
        lines += ["", "First failed rows:"]
        lines += [
            f"- row {row['row'] if row['row'] is not None else '?'}"
            f" {row['source_id'] or ''}: {row['reason'] or row['code'] or 'no reason given'}"
            for row in rows
        ]
    return "\n".join(lines) + "\n"


def _rows(action: Action) -> list[dict]:
    result = action.result
    if result is None:
        return []
    rows = [{"row": r.row, "source_id": r.source_id, "code": r.code, "reason": r.reason}
            for r in result.failed[:ROWS_IN_ALERT]]
    rows += [{"row": None, "source_id": e.source_id, "code": e.key, "reason": e.message}
             for e in result.errors[:ROWS_IN_ALERT - len(rows)]]
    return rows


def _failed(action: Action, facts: dict) -> str:
    rows = facts.get("failed_count")
    extra = f" with {rows} failed row{'s' if rows != 1 else ''}" if rows else ""
    return f"{_name(action)} failed{extra}."


def _failed_rows(action: Action, facts: dict) -> str:
    failed, total, percent = facts["failed_count"], facts["total"], facts["percent"]
    of = f" of {total} ({percent:g} %)" if total else ""
    return f"{_name(action)} finished {action.status} with {failed} failed row" \
           f"{'s' if failed != 1 else ''}{of}."


def _stuck(action: Action, facts: dict) -> str:
    p95 = facts["p95_ms"]
    basis = (f"the larger of {facts['factor']:g} × its type's p95 of {_duration(p95)} and "
             f"{facts['minutes']:g} min" if p95 else f"{facts['minutes']:g} min (no p95 yet)")
    return (f"{_name(action)} has been {action.status} for {_duration(facts['running_ms'])}, "
            f"longer than {basis}.")


def _purge(action: Action, facts: dict) -> str:
    key = f" of key {facts['purged_key']!r}" if facts.get("purged_key") else ""
    who = facts["who"] or "someone Voucherify did not name"
    records = facts["records"]
    count = f"{records} record{'s' if records != 1 else ''}" if records is not None \
        else "an unknown number of records"
    return f"Metadata key purge{key} {action.id} ({action.type}) by {who} updated {count}."


def _share(action: Action, facts: dict) -> str:
    return (f"{facts['failed']} of {facts['finished']} {action.type} actions "
            f"({facts['percent']:g} %) failed in the last {facts['hours']:g} h, "
            f"more than {facts['above']:g} %.")


def _name(action: Action) -> str:
    return f"{action.type or 'An action of unknown type'} action {action.id}"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "?"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


_SENTENCES = {
    rules.FAILED: _failed,
    rules.FAILED_ROWS: _failed_rows,
    rules.STUCK: _stuck,
    rules.PURGE: _purge,
    rules.FAILURE_SHARE: _share,
}
