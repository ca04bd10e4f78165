"""What the purge audit page shows: a page of purges with keys and notes, what the archive
does not hold yet for the filter, the backfill, and the schema history per object type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import DatabaseError

from . import backfill
from .audit_models import BackfillRun, PurgeNote
from .models import ArchivedAction, SyncState
from .purge_pages import PurgePage, purge_page
from .purges import (
    ROW_FIELDS,
    PurgeFilter,
    PurgeRow,
    midnight,
    notes_by_action,
    selection_of,
    to_row,
)
from .query import coverage
from .schemas import KeyLife, SchemaHistory

NOTE_FIELDS = {"ticket": 100, "key": 200, "text": 2000}


@dataclass(frozen=True)
class AuditPage:
    page: PurgePage
    rows: list[PurgeRow]
    coverage: SyncState | None
    missing_before: datetime | None  # the filter reaches below what the archive holds
    backfill: BackfillRun | None
    schema_read_since: datetime | None  # the first schema snapshot, None before any


def audit_page(selected: PurgeFilter, query: Mapping[str, str], per_page: int) -> AuditPage:
    page = purge_page(selection_of(selected), query, per_page)
    history = SchemaHistory.load()
    notes = notes_by_action(values[0] for values in page.rows)
    state = coverage()
    return AuditPage(
        page=page,
        rows=[to_row(values, history, notes) for values in page.rows],
        coverage=state,
        missing_before=missing_before(selected, state),
        backfill=backfill.current(),
        schema_read_since=history.first_read(),
    )


def missing_before(selected: PurgeFilter, state: SyncState | None) -> datetime | None:
    """The moment below which the archive is not complete, when the filter reaches there."""
    if state is None or state.bottom_reached or state.covered_from is None:
        return None
    if selected.end is not None and _midnight_after(selected.end) <= state.covered_from:
        return state.covered_from  # the whole range is older than what is held
    if selected.start is None or midnight(selected.start) < state.covered_from:
        return state.covered_from
    return None


def _midnight_after(day: date) -> datetime:
    return midnight(day + timedelta(days=1))


def add_note(action_id: str, user, form: Mapping[str, str]) -> tuple[PurgeNote | None, str]:
    """(the note, "") or (None, a sentence saying what is wrong with the form)."""
    values = {name: (form.get(name) or "").strip() for name in NOTE_FIELDS}
    if not any(values.values()):
        return None, "A note needs a ticket, a key or some text."
    for name, limit in NOTE_FIELDS.items():
        if len(values[name]) > limit:
            return None, f"The {name} is longer than {limit} characters."
    if not ArchivedAction.objects.filter(pk=action_id, context="METADATA_KEY_PURGE").exists():
        return None, "There is no purge with that id in the archive."
    note = PurgeNote.objects.create(action_id=action_id, author=user,
                                    author_name=user.get_username()[:150], **values)
    return note, ""


def purge_with_notes(action_id: str) -> PurgeRow | None:
    """One archived purge with its key and notes, or None."""
    values = (ArchivedAction.objects.filter(pk=action_id, context="METADATA_KEY_PURGE")
              .values_list(*ROW_FIELDS).first())
    if values is None:
        return None
    return to_row(values, SchemaHistory.load(), notes_by_action([action_id]))


def key_lives() -> dict[str, list[KeyLife]]:
    """Per object type: each key's first definition, removal and departure seen."""
    try:
        history = SchemaHistory.load()
    except DatabaseError:
        return {}
    return {related: history.lives(related) for related in history.related_objects()}
