"""Shared helpers for the alerts tests: subscriptions, actions inserted into the emulator."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from django.core.management import call_command

from dashboard.alerts.subscriptions import create
from dashboard.history.archive import archive_actions
from dashboard.voucherify.dates import format_timestamp
from dashboard.voucherify.models import Action

PURGER = {"id": "user_0c5e1d9a2b7f4c3e99", "email": "purge.person@example.com"}


def subscribe(rule: str, *, to: str, audience: str = "operator", **options):
    channel = "email" if "@" in to and "://" not in to else "webhook"
    return create({"rule": rule, "audience": audience, **options}, channel=channel, target=to)


def watch_once() -> None:
    """One run of the worker, as `manage.py watch_actions --once` (a new worker each time)."""
    call_command("watch_actions", "--once")


def new_id() -> str:
    return "aa_" + secrets.token_hex(9)


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def insert(emulator, *, type_: str, status: str, created_ago: timedelta,
           finished: bool = True, **extra) -> dict:
    """An exact action: terminal ones finish a millisecond from now (after any subscription
    made before), live ones keep their status."""
    now = datetime.now(UTC) + timedelta(milliseconds=2)
    created = now - created_ago
    body = {
        "id": new_id(), "object": "async_action", "type": type_, "status": status,
        "progress": 100 if finished else 40, "created_at": stamp(created),
        "updated_at": stamp(now), "request_id": "v-" + secrets.token_hex(9), **extra,
    }
    if finished:
        body["processing_time"] = int(created_ago.total_seconds() * 1000)
    emulator.insert_action(body)
    return body


def failed_rows(count: int) -> list[dict]:
    """Generated failed rows holding personal data (e-mail addresses as source ids)."""
    return [{"code": "invalid_email", "row": index + 2,
             "source_id": f"customer-{secrets.token_hex(4)}@example.org",
             "reason": f"Invalid e-mail in row {index + 2}"} for index in range(count)]


def bury(emulator, count: int = 150) -> None:
    """`count` newer finished actions, as a busy project makes while the worker is away:
    what came before is no longer on the newest page."""
    for _ in range(count):
        insert(emulator, type_="VOUCHERS.IMPORT_CSV", status="DONE",
               created_ago=timedelta(seconds=30))


def archive_finished(count: int, *, created_ago: timedelta, status: str = "FAILED",
                     result: dict | None = None) -> list[str]:
    """`count` actions finished now, straight into the archive with their detail, as the sync
    leaves them: a big archive without as many upstream calls."""
    now = datetime.now(UTC)
    actions = [Action.from_json({
        "id": new_id(), "object": "async_action", "type": "VOUCHERS.IMPORT", "status": status,
        "progress": 100, "created_at": stamp(now - created_ago - timedelta(milliseconds=index)),
        "updated_at": stamp(now), "request_id": "v-" + secrets.token_hex(9),
        "processing_time": 1000, "result": result or {"message": "Import failed."},
    }) for index in range(count)]
    archive_actions(actions, detail=True)
    return [action.id for action in actions]
