"""The metadata key purge audit: rows from the archive, filters, and the CSV export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from urllib.parse import urlencode

from dashboard.csvsafe import csv_stream
from dashboard.voucherify import catalog
from dashboard.voucherify.dates import parse_user_day

from .models import ArchivedAction, PurgeNote
from .purge_cells import MAX_COUNT_DIGITS, stored_records
from .purge_reads import COLUMNS, PurgeSelection, stamp_moment, stamp_text, with_moments
from .schemas import KeyAttribution, SchemaHistory, finished_at

OBJECT_PARAM, FROM_PARAM, TO_PARAM = "object", "from", "to"
OBJECT_TYPES_BY_TYPE = catalog.PURGE_OBJECT_TYPES
OBJECT_TYPES = tuple(OBJECT_TYPES_BY_TYPE.values())
CSV_HEADERS = ("id", "object_type", "created_at", "user", "status", "records_updated",
               "duration_ms", "request_id", "log_id", "key", "key_source", "notes")
# The columns a row needs, read as plain values (no model instances, no JSON: `raw`, `user`
# and `result` are never read; started_by and records_updated were worked out when stored).
ROW_FIELDS = COLUMNS
CSV_BATCH = 500  # rows per chunk of the streamed CSV


@dataclass(frozen=True)
class PurgeFilter:
    object_type: str | None = None
    start: date | None = None
    end: date | None = None  # inclusive
    errors: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def params(self) -> dict[str, str]:
        values = {
            OBJECT_PARAM: self.object_type,
            FROM_PARAM: self.start.isoformat() if self.start else None,
            TO_PARAM: self.end.isoformat() if self.end else None,
        }
        return {name: value for name, value in values.items() if value}

    def query(self) -> str:
        params = self.params()
        return "?" + urlencode(params) if params else ""


@dataclass(frozen=True)
class PurgeRow:
    id: str
    type: str
    object_type: str
    created_at: datetime
    updated_at: datetime | None
    user: str | None  # who started it, when the detail said so
    status: str
    records_updated: int | str | None  # str: a count too big or odd to be a number, as sent
    duration_ms: int | None
    request_id: str
    log_id: str
    has_detail: bool
    key: KeyAttribution | None = None
    notes: tuple[PurgeNote, ...] = ()

    @property
    def key_text(self) -> str:
        """The key (or candidates) from the schema history, else from an auditor's note."""
        return key_cells(self.key, self.notes)[0]

    @property
    def key_source(self) -> str:
        return key_cells(self.key, self.notes)[1]


def key_cells(key: KeyAttribution | None, notes: Sequence[PurgeNote]) -> tuple[str, str]:
    """(key, key_source): the schema history's answer, else the latest note naming a key."""
    if key is not None and key.keys:
        return key.key_text, key.source if key.known else f"candidates from the {key.source}"
    noted = next((note for note in reversed(notes) if note.key), None)
    if noted:
        return noted.key, f"auditor's note by {noted.author_name} ({noted.written_at:%Y-%m-%d})"
    return "", key.wording if key is not None else ""


def parse_filter(query: Mapping[str, str]) -> PurgeFilter:
    """Lenient: each bad value becomes one sentence in `errors` and is left out."""
    errors: list[tuple[str, str]] = []
    object_type = (query.get(OBJECT_PARAM) or "").strip().lower() or None
    if object_type and object_type not in OBJECT_TYPES:
        errors.append((OBJECT_PARAM, f"There is no object type {object_type[:40]!r}; choose one "
                                     f"of {', '.join(OBJECT_TYPES)}."))
        object_type = None
    start = _day(query, FROM_PARAM, errors)
    end = _day(query, TO_PARAM, errors)
    if start and end and start > end:
        errors.append((TO_PARAM, "The end date is before the start date."))
        end = None
    return PurgeFilter(object_type, start, end, tuple(errors))


def _day(query: Mapping[str, str], name: str, errors: list) -> date | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_user_day(raw)
    except ValueError as exc:
        errors.append((name, str(exc)))
        return None


def purge_rows(selected: PurgeFilter) -> Iterator[PurgeRow]:
    """Every selected purge with its key and notes, newest first, read as the CSV reads
    them (purge_reads, FETCH rows at a time)."""
    history = SchemaHistory.load()
    notes = notes_by_action()
    for values in selection_of(selected).texts():
        yield to_row(with_moments(values), history, notes)


def notes_by_action(action_ids: Iterable[str] | None = None
                    ) -> dict[str, tuple[PurgeNote, ...]]:
    """The notes of these purges; None: every note (few, written by hand), cheaper for a
    whole export than a subquery over the archive."""
    notes = PurgeNote.objects.all()
    if action_ids is not None:
        notes = notes.filter(action_id__in=list(action_ids))
    found: dict[str, list[PurgeNote]] = {}
    for note in notes:
        found.setdefault(note.action_id, []).append(note)
    return {action_id: tuple(notes) for action_id, notes in found.items()}


def to_row(values: Sequence, history: SchemaHistory | None = None,
           notes: Mapping[str, tuple[PurgeNote, ...]] | None = None) -> PurgeRow:
    """A row from ROW_FIELDS values (a tuple, or an ArchivedAction)."""
    if isinstance(values, ArchivedAction):
        values = tuple(getattr(values, name) for name in ROW_FIELDS)
    (action_id, action_type, created_at, updated_at, started_by, status, records, duration,
     request_id, log_id, has_detail) = values
    object_type = object_type_of(action_type)
    key = None
    if history is not None:
        key = history.attribute(object_type, created_at,
                                finished_at(created_at, updated_at, duration))
    return PurgeRow(
        id=action_id, type=action_type, object_type=object_type, created_at=created_at,
        updated_at=updated_at, user=started_by or None, status=status,
        records_updated=stored_records(records), duration_ms=duration,
        request_id=request_id, log_id=log_id, has_detail=has_detail, key=key,
        notes=(notes or {}).get(action_id, ()),
    )


def object_type_of(action_type: str) -> str:
    return catalog.PURGE_OBJECT_TYPES.get(action_type) or catalog.prefix_of(action_type).lower()


def note_text(note: PurgeNote) -> str:
    parts = [f"{note.written_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC {note.author_name}:"]
    if note.ticket:
        parts.append(f"[{note.ticket}]")
    if note.key:
        parts.append(f"key {note.key}.")
    if note.text:
        parts.append(note.text)
    return " ".join(parts)


def selection_of(selected: PurgeFilter) -> PurgeSelection:
    """The filter as purge_reads reads it (through the purge index)."""
    types = None
    if selected.object_type:
        types = tuple(t for t, o in catalog.PURGE_OBJECT_TYPES.items()
                      if o == selected.object_type)
    return PurgeSelection(
        types=types,
        start=midnight(selected.start) if selected.start else None,
        end=midnight(selected.end + timedelta(days=1)) if selected.end else None,
    )


def csv_lines(selected: PurgeFilter) -> Iterator[str]:
    """The CSV of the selected purges in chunks of CSV_BATCH rows, from plain column values
    with timestamps as text (purge_reads): no model instance, no datetime, no JSON and no row
    object per purge."""
    history = SchemaHistory.load()
    notes = notes_by_action()
    lines = csv_stream(CSV_HEADERS, _csv_rows(selection_of(selected).texts(), history, notes))
    while chunk := "".join(islice(lines, CSV_BATCH)):
        yield chunk


def _csv_rows(rows: Iterable[tuple], history: SchemaHistory,
              notes: Mapping[str, tuple[PurgeNote, ...]]) -> Iterator[tuple]:
    """purge_reads.COLUMNS rows (timestamps as text) -> CSV_HEADERS cells. Per row only
    lookups: object types, and the key cells of a purge without notes, are made once."""
    object_types: dict[str, str] = {}
    key_texts: dict[int, tuple[KeyAttribution, tuple[str, str]]] = {}  # by id(attribution)
    attribute, numbers = history.attribute_at, MAX_COUNT_DIGITS
    for (action_id, action_type, created, updated, started_by, status, records, duration,
         request_id, log_id, _) in rows:
        object_type = object_types.get(action_type)
        if object_type is None:
            object_type = object_types[action_type] = object_type_of(action_type)
        if updated is None:  # rare: a list item without updated_at
            updated = stamp_text(finished_at(stamp_moment(created), None, duration))
        key = attribute(object_type, created, updated)
        row_notes = notes.get(action_id)
        if row_notes:
            key_text, key_source = key_cells(key, row_notes)
            notes_text = " | ".join(note_text(note) for note in row_notes)
        else:
            known = key_texts.get(id(key))
            if known is None:  # the attribution is kept with its cells: its id stays its own
                known = key_texts[id(key)] = (key, key_cells(key, ()))
            (key_text, key_source), notes_text = known[1], ""
        yield (action_id, object_type, created.replace(" ", "T") + "+00:00", started_by,
               status, int(records) if records.isdecimal() and len(records) <= numbers
               else stored_records(records), duration, request_id, log_id, key_text,
               key_source, notes_text)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
