"""Idempotent upserts of terminal actions into the archive, and reading them back.

A record from the detail endpoint (`detail=True`: with result, user, log_id and processing
time) is never replaced by a list item, which carries none of those; terminal actions do not
change, so a list item for an id already archived writes nothing at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from dashboard.voucherify.cursor import ACTION_ID_MAX_LENGTH
from dashboard.voucherify.models import Action, ActionResult

from . import failed_items
from . import rows_later as rows_later_module
from .models import ArchivedAction, DetailWanted, column_length
from .new_rows import insert_new, update_known
from .purge_cells import records_text, user_text
from .purge_index import fit_purge_cells
from .rollups import FIGURES, Deltas

DETAIL_ONLY_FIELDS = ("result", "user", "log_id", "processing_time")
COLUMN_KEPT = ("result", "user")  # stored in their own columns, not again inside `raw`
PURGE_CONTEXT = "METADATA_KEY_PURGE"
# The failed_rows column's largest value on every database (an integer on PostgreSQL): a
# failed_count beyond it, which no real import reaches, is stored as this instead of failing
# the write (the detail page reads the count from the result itself).
FAILED_ROWS_MOST = 2**31 - 1
# Upstream text longer than its column is stored cut (query.py then sends a filter that long
# to Voucherify: the archive cannot tell what it matches).
_CUT = {name: column_length(name) for name in ("type", "status", "operation_status",
                                                "request_id", "log_id")}


def is_detail_level(action: Action) -> bool:
    """Whether the object came from the detail endpoint (list items never carry these)."""
    return any(name in action.raw for name in DETAIL_ONLY_FIELDS)


def duration_ms(action: Action) -> int | None:
    if action.processing_time is not None:
        return max(0, action.processing_time)
    if action.updated_at is not None and action.is_terminal:
        return max(0, int((action.updated_at - action.created_at).total_seconds() * 1000))
    return None


def split_raw(raw: dict, detail: bool) -> tuple[dict, object, object]:
    """(raw without what the columns keep, user, result); a null stays inside raw, so the
    object reads back exactly as it came."""
    rest = dict(raw)
    kept = {name: rest.pop(name) for name in COLUMN_KEPT
            if detail and rest.get(name) is not None}
    return rest, kept.get("user"), kept.get("result")


def joined_raw(raw: dict, user: object, result: object) -> dict:
    """The upstream object as it came: `raw` with the columns' user and result put back."""
    extra = {name: value for name, value in (("result", result), ("user", user))
             if value is not None}
    return {**raw, **extra} if extra else raw


def detail_wanted(status: str, context: str, has_detail: bool) -> DetailWanted | None:
    """Purges and FAILED actions are worth a detail call until they have one."""
    if has_detail:
        return None
    if context == PURGE_CONTEXT:
        return DetailWanted.PURGE
    return DetailWanted.FAILED if status == "FAILED" else None


def row_fields(action: Action, detail: bool) -> dict:
    raw, user, result = split_raw(action.raw, detail)
    fields = {
        "type": action.type[:_CUT["type"]],
        "context": action.context,
        "status": action.status[:_CUT["status"]],
        "operation_status": (action.operation_status or "")[:_CUT["operation_status"]],
        "created_at": action.created_at,
        "updated_at": action.updated_at,
        "processing_time": action.processing_time,
        "duration_ms": duration_ms(action),
        "request_id": (action.request_id or "")[:_CUT["request_id"]],
        "user": user,
        "log_id": (action.log_id or "")[:_CUT["log_id"]] if detail else "",
        "result": result,
        "started_by": user_text(user) or "",
        "records_updated": records_text(result) if action.context == PURGE_CONTEXT else "",
        "raw": raw,
        "has_detail": detail,
        "failed_rows": min(detail_failed_rows(action), FAILED_ROWS_MOST) if detail else None,
        "detail_wanted": detail_wanted(action.status[:_CUT["status"]], action.context, detail),
    }
    # A purge's row is an entry of the purge index too, whose entries have a size limit.
    return fit_purge_cells(action.id, fields) if action.context == PURGE_CONTEXT else fields


def _locked(ids: list[str]) -> dict[str, dict]:
    """The stored figures of these rows, locked until the transaction ends."""
    rows = (ArchivedAction.objects.select_for_update().filter(pk__in=ids)
            .values("id", *FIGURES, "raw", "user", "result", "has_detail"))
    return {row["id"]: row for row in rows}


def _stored(fields: dict) -> tuple:
    return fields["raw"], fields["user"], fields["result"]


def archivable(action: Action) -> bool:
    """A finished action whose id fits the archive's key. No documented id is longer
    (NOTES.md: `aa_` and hex), but one that was would fail the insert of its whole page on
    PostgreSQL, every time that page is read: it is left out, the rest of the page kept."""
    return action.is_terminal and len(action.id) <= ACTION_ID_MAX_LENGTH


def archive_action(action: Action, *, detail: bool | None = None) -> bool:
    """Store one terminal action; True when a row was created or improved.

    `detail` None: judged from the object itself (see is_detail_level).
    """
    if detail is None:
        detail = is_detail_level(action)
    if not detail:
        return archive_actions([action]) == 1
    return archive_detail(action)[1]


def archive_detail(action: Action, *, rows_later: bool = False) -> tuple[Action, bool]:
    """Store a terminal action read from the detail endpoint; a big result's failed rows go to
    their own table (see failed_items). Returns the action as archived (without those rows)
    and whether a row was created or improved.

    `rows_later`: a page waits for this, so a very big result's rows are stored in the
    background (rows_later.py) unless someone is storing them already."""
    if not archivable(action):
        return action, False
    if rows_later:
        kept = failed_items.trimmed(action)
        lengths = failed_items.kept_apart(kept) if kept is not None else None
        if lengths is not None and rows_later_module.is_later(lengths):
            return _archive_rows_later(action, kept, lengths)
    kept, stored = _split_and_archive({action.id: action})
    return kept[action.id], stored == 1


def _archive_rows_later(action: Action, kept: Action, lengths: dict[str, int]
                        ) -> tuple[Action, bool]:
    """The action's row and its summary marked incomplete, then its rows: all of it by a
    thread, once the page has answered (the row's transaction was a sixth of that page's own
    time). The lock on storing is taken first, so no viewer takes the incomplete summary
    for a store left unfinished; until the row is in, a viewer in another process finds a
    kept copy without a summary, which reads as loading (failed_items.failures_for). Without
    the lock (another worker holds it) the row and summary are written now all the same:
    without a summary the kept rows would read as all of them, and nobody would ever store the
    rest; with one, viewers wait, and store them once that lock is gone. True: to be written."""
    token = rows_later_module.claim(action.id)
    if token is None:
        _archive_pending(kept, lengths)
        return kept, True
    try:
        rows_later_module.start(action.id, token, rows_later_module.of_action(action),
                                first=lambda: _archive_pending(kept, lengths))
    except BaseException:
        rows_later_module.release(action.id, token)
        raise
    return kept, True


def archive_read_again(action: Action) -> None:
    """A big result read again to store its rows (rows_later.resume): its row as its first
    read writes it, should that store have died before doing so (nothing is written when the
    row is there as it is)."""
    if archivable(action):
        with transaction.atomic():
            _archive_details({action.id: failed_items.trimmed(action) or action})


def _archive_pending(kept: Action, lengths: dict[str, int]) -> None:
    """A big result's row (its first rows only) and its summary marked incomplete."""
    with transaction.atomic():
        _archive_details({kept.id: kept})
        failed_items.mark_pending(kept.id, lengths)


def _split_and_archive(actions: dict[str, Action]) -> tuple[dict[str, Action], int]:
    """Detail-level rows for `actions`, big results split first, their failed rows stored
    apart in the same transaction."""
    kept: dict[str, Action] = {}
    apart = {}
    for action_id, action in actions.items():
        kept[action_id], failures = failed_items.split(action)
        if failures is not None:
            apart[action_id] = failures
    with transaction.atomic():
        stored = _archive_details(kept)
        for action_id, failures in apart.items():
            lengths = failed_items.kept_apart(kept[action_id]) or {}
            failed_items.store(action_id, failures, lengths)
    return kept, stored


def _archive_details(actions: dict[str, Action]) -> int:
    """Insert or improve detail-level rows, a batch in a few queries, with their rollups."""
    now = timezone.now()
    fields = {i: {**row_fields(action, True), "last_synced": now} for i, action in actions.items()}
    mine: set[str] = set()
    with transaction.atomic(savepoint=False):  # the caller's, if any (rollups.Deltas.apply)
        old = _locked(list(fields))
        missing = [i for i in fields if i not in old]
        if missing:
            mine = insert_new({i: {**fields[i], "first_seen": now} for i in missing}, now)
            racing = [i for i in missing if i not in mine]
            if racing:  # another process stored them meanwhile: improve them like known rows
                old.update(_locked(racing))
        changed = [i for i, row in old.items()
                   if not (row["has_detail"] and _stored(row) == _stored(fields[i]))]
        if changed:
            update_known({i: fields[i] for i in changed})
        deltas = Deltas()
        for i in changed:
            deltas.add(old[i], -1)
            deltas.add(fields[i])
        for i in mine:
            deltas.add(fields[i])
        deltas.apply()
    return len(changed) + len(mine)


def archive_actions(actions: Iterable[Action], *, detail: bool = False) -> int:
    """Store many terminal actions; returns how many rows were created or improved.

    List items (`detail=False`) only add ids not archived yet, in one query and one insert;
    two processes racing for the same ids both succeed (conflicts are ignored) and each
    counts in the rollups only the rows it inserted itself.
    """
    terminal = {action.id: action for action in actions if archivable(action)}
    if not terminal:
        return 0
    if detail:
        return _split_and_archive(terminal)[1]
    known = set(
        ArchivedAction.objects.filter(pk__in=list(terminal)).values_list("pk", flat=True)
    )
    now = timezone.now()
    new = {
        action_id: {**row_fields(action, False), "first_seen": now, "last_synced": now}
        for action_id, action in terminal.items()
        if action_id not in known
    }
    if not new:
        return 0
    with transaction.atomic():
        inserted = insert_new(new, now)  # without the rows a racing process stored first
        Deltas().extend(new[i] for i in inserted).apply()
    return len(inserted)


def to_action(row: ArchivedAction) -> Action:
    """A list row (only `raw` is read: list items never carry result or user)."""
    return Action.from_json(row.raw)


def archived_detail(action_id: str) -> tuple[Action, datetime] | None:
    """The archived action with its detail (result) and when it was stored, if any."""
    row = (
        ArchivedAction.objects.filter(pk=action_id, has_detail=True)
        .values_list("raw", "user", "result", "last_synced")
        .first()
    )
    if row is None:
        return None
    raw, user, result, last_synced = row
    return Action.from_json(joined_raw(raw, user, result)), last_synced


def missing_details(*, purges_only: bool, limit: int, exclude: Iterable[str] = ()) -> list[str]:
    """Ids of archived actions worth a detail call (purges; with purges_only False FAILED
    actions, purges having had theirs first), newest first: one range of the small partial
    index on detail_wanted, already in order."""
    wanted = DetailWanted.PURGE if purges_only else DetailWanted.FAILED
    rows = ArchivedAction.objects.filter(detail_wanted=wanted).exclude(pk__in=list(exclude))
    return list(rows.order_by("-created_at", "-id").values_list("pk", flat=True)[:limit])


def purges_wanting_detail(action_ids: list[str]) -> int:
    """How many of these archived ids are purges still without their detail (no query for
    none: a page without purges costs nothing)."""
    if not action_ids:
        return 0
    return ArchivedAction.objects.filter(pk__in=action_ids,
                                         detail_wanted=DetailWanted.PURGE).count()


def failed_rows(result: object) -> int:
    """How many rows of a finished action failed, from its detail's `result`."""
    parsed = ActionResult.from_json(result)
    if parsed is None:
        return 0
    if parsed.failed_count is not None:
        return max(0, parsed.failed_count)
    return len(parsed.failed) or len(parsed.errors)


def detail_failed_rows(action: Action) -> int:
    """Failed rows of an action read from the detail endpoint; a result whose failed rows
    were kept apart (failed_items) without a `failed_count` counts the lists as received."""
    result = action.raw.get("result")
    parsed = ActionResult.from_json(result)
    lengths = failed_items.kept_apart(action)
    if parsed is not None and parsed.failed_count is None and lengths:
        return lengths.get("failed") or lengths.get("errors") or 0
    return failed_rows(result)


def failed_counts(action_ids: Iterable[str]) -> dict[str, int]:
    """Failed rows of each archived action whose detail is known, by id (one query); ids the
    archive holds no detail for are left out. The column the rollups count, so the list's
    "Done with failures" and the overview agree."""
    rows = ArchivedAction.objects.filter(pk__in=list(action_ids), has_detail=True)
    return {pk: n or 0 for pk, n in rows.values_list("pk", "failed_rows")}


def ids_ending_with(suffix: str, *, limit: int) -> list[str]:
    """Archived action ids that end with `suffix` (any case), newest first."""
    rows = ArchivedAction.objects.filter(pk__iendswith=suffix).order_by("-created_at", "-id")
    return list(rows.values_list("pk", flat=True)[:limit])
