"""Idempotent upserts of terminal actions into the archive, and reading them back.

A record from the detail endpoint (`detail=True`: with result, user, log_id and processing
time) is never replaced by a list item, which carries none of those; terminal actions do not
change, so a list item for an id already archived writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from dashboard.voucherify import catalog
from dashboard.voucherify.models import Action, ActionResult

from .models import ArchivedAction

DETAIL_ONLY_FIELDS = ("result", "user", "log_id", "processing_time")


def is_detail_level(action: Action) -> bool:
    """Whether the object came from the detail endpoint (list items never carry these)."""
    return any(name in action.raw for name in DETAIL_ONLY_FIELDS)


def duration_ms(action: Action) -> int | None:
    if action.processing_time is not None:
        return max(0, action.processing_time)
    if action.updated_at is not None and action.is_terminal:
        return max(0, int((action.updated_at - action.created_at).total_seconds() * 1000))
    return None


def _fields(action: Action, detail: bool) -> dict:
    result = action.raw.get("result")
    return {
        "type": action.type[:200],
        "context": action.context,
        "status": action.status[:32],
        "operation_status": (action.operation_status or "")[:32],
        "created_at": action.created_at,
        "updated_at": action.updated_at,
        "processing_time": action.processing_time,
        "duration_ms": duration_ms(action),
        "request_id": (action.request_id or "")[:100],
        "user": action.user if detail else None,
        "log_id": (action.log_id or "")[:100] if detail else "",
        "result": result if detail else None,
        "raw": dict(action.raw),
        "has_detail": detail,
    }


def archive_action(action: Action, *, detail: bool | None = None) -> bool:
    """Store one terminal action; True when a row was created or improved.

    `detail` None: judged from the object itself (see is_detail_level).
    """
    if not action.is_terminal:
        return False
    if detail is None:
        detail = is_detail_level(action)
    if not detail:
        return archive_actions([action]) == 1
    known = ArchivedAction.objects.filter(pk=action.id).values_list("raw", "has_detail").first()
    if known == (action.raw, True):
        return False
    now = timezone.now()
    fields = {**_fields(action, True), "last_synced": now}
    ArchivedAction.objects.update_or_create(
        id=action.id, defaults=fields, create_defaults={**fields, "first_seen": now}
    )
    return True


def archive_actions(actions: Iterable[Action], *, detail: bool = False) -> int:
    """Store many terminal actions; returns how many rows were created or improved.

    List items (`detail=False`) only add ids not archived yet, in one query and one insert;
    two processes racing for the same ids both succeed (conflicts are ignored).
    """
    terminal = {action.id: action for action in actions if action.is_terminal}
    if not terminal:
        return 0
    if detail:
        return sum(archive_action(action, detail=True) for action in terminal.values())
    known = set(
        ArchivedAction.objects.filter(pk__in=list(terminal)).values_list("pk", flat=True)
    )
    now = timezone.now()
    new = [
        ArchivedAction(id=action_id, **_fields(action, False), first_seen=now, last_synced=now)
        for action_id, action in terminal.items()
        if action_id not in known
    ]
    ArchivedAction.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def to_action(row: ArchivedAction) -> Action:
    return Action.from_json(row.raw)


def archived_detail(action_id: str) -> tuple[Action, datetime] | None:
    """The archived action with its detail (result) and when it was stored, if any."""
    row = (
        ArchivedAction.objects.filter(pk=action_id, has_detail=True)
        .only("raw", "last_synced")
        .first()
    )
    return (to_action(row), row.last_synced) if row is not None else None


def missing_details(*, purges_only: bool, limit: int, exclude: Iterable[str] = ()) -> list[str]:
    """Ids of archived actions worth a detail call (purges; with purges_only False also
    FAILED ones), newest first."""
    rows = ArchivedAction.objects.filter(has_detail=False).exclude(pk__in=list(exclude))
    if purges_only:
        rows = rows.filter(context="METADATA_KEY_PURGE")
    else:
        rows = rows.filter(status=catalog.FAILED)
    return list(rows.order_by("-created_at", "-id").values_list("pk", flat=True)[:limit])


def failed_rows(result: object) -> int:
    """How many rows of a finished action failed, from its detail's `result`."""
    parsed = ActionResult.from_json(result)
    if parsed is None:
        return 0
    if parsed.failed_count is not None:
        return max(0, parsed.failed_count)
    return len(parsed.failed) or len(parsed.errors)


def failed_counts(action_ids: Iterable[str]) -> dict[str, int]:
    """Failed rows of each archived action whose detail is known, by id (one query); ids the
    archive holds no detail for are left out."""
    rows = ArchivedAction.objects.filter(pk__in=list(action_ids), has_detail=True)
    return {pk: failed_rows(result) for pk, result in rows.values_list("pk", "result")}


def ids_ending_with(suffix: str, *, limit: int) -> list[str]:
    """Archived action ids that end with `suffix` (any case), newest first."""
    rows = ArchivedAction.objects.filter(pk__iendswith=suffix).order_by("-created_at", "-id")
    return list(rows.values_list("pk", flat=True)[:limit])
