"""Big results kept apart: a terminal action's failed rows in their own table, read a page at
a time, and the action archived (and cached) with only the first few of them.

A finished action never changes, so its result is split once, when its detail is archived.
From then on the panel and its poll read one summary row, a failures page or filter reads
one page of rows with an index, and the CSV streams the rows in chunks: no request parses or
holds the whole result again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from dashboard import postgres_text
from dashboard.history.failures import (
    CELL_SEPARATOR,
    KNOWN_COLUMNS,
    FailureQuery,
    Failures,
    FailureSet,
    Groups,
    failures_of,
    noun_for,
    top_counts,
)
from dashboard.voucherify.models import Action, ActionResult

from .models import FailedItem, FailureSummary

logger = logging.getLogger(__name__)

FAILURE_LISTS = ("failed", "errors")
# Failed rows and errors left in the archived result: what its raw JSON shows. A result with
# more is split; one with fewer stays whole (nothing to gain).
KEPT_IN_RESULT = 20
# Top-level key of a split action's raw object: how long each list was, as received.
KEPT_APART = "dashboard_failures_kept_apart"
_BATCH = 2000
# SQL's LIKE ends a text at NUL (and PostgreSQL stores none): search_text and the needle
# carry postgres_text's standin instead.


def kept_lengths(raw: object) -> dict[str, int] | None:
    """The lengths of the lists kept apart from a raw action's result, if they were. Only
    well-formed lengths count: an upstream object could carry the key too."""
    lengths = raw.get(KEPT_APART) if isinstance(raw, Mapping) else None
    if not isinstance(lengths, Mapping):
        return None
    found = {name: count for name, count in lengths.items()
             if name in FAILURE_LISTS and type(count) is int and count >= 0}
    return found or None


def kept_apart(action: Action) -> dict[str, int] | None:
    return kept_lengths(action.raw)


def _list_lengths(action: Action) -> dict[str, int] | None:
    """How long the failure lists of a terminal action's result are, when worth splitting."""
    if kept_apart(action) is not None or not action.is_terminal:
        return None
    lengths = _lengths(action)
    return lengths if sum(lengths.values()) > KEPT_IN_RESULT else None


def _lengths(action: Action) -> dict[str, int]:
    raw_result = action.raw.get("result")
    if not isinstance(raw_result, Mapping):
        return {}
    return {name: len(raw_result[name]) for name in FAILURE_LISTS
            if isinstance(raw_result.get(name), list)}


def whole(action: Action) -> tuple[FailureSet, dict[str, int]]:
    """Every failure of the action's result, however few, and how long its lists are."""
    return failures_of(action), _lengths(action)


def needs_split(action: Action) -> bool:
    """A big result still whole (one archived before results were split)."""
    return _list_lengths(action) is not None


def split(action: Action) -> tuple[Action, FailureSet | None]:
    """The action as it is archived and cached and, for a big result, its failures apart."""
    kept = trimmed(action)
    return (action, None) if kept is None else (kept, failures_of(action))


def trimmed(action: Action) -> Action | None:
    """A big result's action as archived and cached: its first failed rows only, and the
    lengths its lists had (KEPT_APART). None when the result is not big."""
    lengths = _list_lengths(action)
    if lengths is None:
        return None
    result = dict(action.raw["result"])
    for name in lengths:
        result[name] = result[name][:KEPT_IN_RESULT]
    raw = {**action.raw, "result": result, KEPT_APART: lengths}
    return dataclasses.replace(action, result=ActionResult.from_json(result), raw=raw)


def mark_pending(action_id: str, lengths: Mapping[str, int]) -> None:
    """The summary of a big result whose rows are still to be stored (rows_later.py): its
    total, and no rows to read until store() completes it. Only where there is none: a
    complete summary is never taken back to pending."""
    noun, total = _counted(lengths)
    FailureSummary.objects.bulk_create([FailureSummary(
        action_id=action_id, total=total, columns=[], noun=noun, groups=[],
        other_groups=0, other_count=0, list_lengths=dict(lengths), complete=False)],
        ignore_conflicts=True)


def _counted(lengths: Mapping[str, int]) -> tuple[str, int]:
    """The noun and the total of a big result's failures, from its lists' lengths."""
    return noun_for(bool(lengths.get("failed")), bool(lengths.get("errors"))), \
        sum(lengths.values())


def loading(action_id: str, lengths: Mapping[str, int]) -> LoadingFailures:
    """The failures of a big result while its rows are stored, from its lists' lengths."""
    noun, total = _counted(lengths)
    return LoadingFailures(action_id=action_id, noun=noun, total=total)


def mark_gone(action_id: str) -> bool:
    """The rows of a big result still to be stored can never be: Voucherify no longer has the
    action (rows_later.py). Its panel says so and nothing reads it again for them. False when
    there was no summary to mark."""
    return FailureSummary.objects.filter(pk=action_id, complete=False).update(
        rows_gone=True) > 0


def unreadable(action_id: str, lengths: Mapping[str, int], why: str, *, final: bool = False
               ) -> UnreadableFailures:
    """The failures of a big result whose rows cannot be read, from its lists' lengths."""
    noun, total = _counted(lengths)
    return UnreadableFailures(action_id=action_id, noun=noun, total=total, unavailable=why,
                              final=final)


def store(action_id: str, failures: FailureSet, lengths: Mapping[str, int]) -> None:
    """Replace the stored failures of an archived action (in the caller's transaction)."""
    FailedItem.objects.filter(action_id=action_id).delete()
    groups = top_counts(Counter(failures.reasons))
    _put_summary(FailureSummary(
        action_id=action_id,
        total=len(failures),
        columns=list(failures.columns),
        noun=failures.noun,
        groups=[list(pair) for pair in groups.top],
        other_groups=groups.other_groups,
        other_count=groups.other_count,
        list_lengths=dict(lengths),
        complete=True,
    ))
    _insert(action_id, failures)


_SUMMARY_FIELDS = [field.name for field in FailureSummary._meta.concrete_fields
                   if not field.primary_key]


def _put_summary(summary: FailureSummary) -> None:
    """Insert or overwrite an action's summary in one statement (INSERT ... ON CONFLICT DO
    UPDATE on SQLite and PostgreSQL): update_or_create costs a locking read and two savepoints
    more, each a round trip on PostgreSQL, on the first read of a big result's page."""
    FailureSummary.objects.bulk_create([summary], update_conflicts=True,
                                       unique_fields=["action"], update_fields=_SUMMARY_FIELDS)


def _insert(action_id: str, failures: FailureSet) -> None:
    """Many rows at a time through the cursor: model instances would cost more than the rows."""
    meta = FailedItem._meta
    names = ("action", "position", "reason", "reason_hash", "cells", "search_text")
    quote = connection.ops.quote_name
    cells_sql, cell_params = _cells_sql(failures.columns)
    sql = (f"INSERT INTO {quote(meta.db_table)} "
           f"({', '.join(quote(meta.get_field(name).column) for name in names)}) "
           f"VALUES (%s, %s, %s, %s, {cells_sql}, %s)")
    reasons = failures.reasons
    hashes = {reason: reason_hash(reason) for reason in set(reasons)}  # reasons repeat
    texts = search_texts(failures.cells)
    rows = failures.cells
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _BATCH):
            end = start + _BATCH
            cursor.executemany(sql, [
                (action_id, position, reason, hashes[reason], *cell_params(cells), text)
                for position, cells, reason, text in zip(
                    range(start, end), rows[start:end], reasons[start:end], texts[start:end],
                    strict=False)
            ])


def _cells_sql(columns: tuple[str, ...]) -> tuple[str, Callable[[list], Sequence[object]]]:
    """The SQL of the cells' JSON and the parameters it takes from a row's cells. SQLite
    writes the JSON itself (json_array, in C: encoding 100,000 rows here costs more than
    inserting them); documented fields are text, integers (64-bit: integer_value) or null,
    the others are encoded here (json(): a JSON value, so true stays true). Other databases
    get what JSONField writes."""
    if connection.vendor != "sqlite":
        as_json = connection.ops.adapt_json_value
        return "%s", lambda cells: (as_json(cells, None),)
    plain = [column in KNOWN_COLUMNS or column == "kind" for column in columns]
    sql = f"json_array({', '.join('%s' if is_plain else 'json(%s)' for is_plain in plain)})"
    if all(plain):
        return sql, lambda cells: cells
    return sql, lambda cells: [cell if is_plain else json.dumps(cell)
                               for cell, is_plain in zip(cells, plain, strict=True)]


def search_texts(rows: list[tuple[object, ...]]) -> list[str]:
    """For each row, every cell with a value, casefolded, between separators. Casefolding
    goes character by character, so each row's joined text is folded at once."""
    present = functools.partial(operator.is_not, None)
    texts = [CELL_SEPARATOR.join(map(str, filter(present, cells))).casefold() for cells in rows]
    if any("\x00" in text for text in texts):
        texts = [postgres_text.text(text) for text in texts]
    return texts


def reason_hash(reason: str) -> str:
    """Of the reason as PostgreSQL stores it and a browser sends it back (a NUL as U+FFFD)."""
    return hashlib.blake2b(postgres_text.text(reason).encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


@dataclass(frozen=True)
class StoredFailures(Failures):
    """The failures of a split result, read from the database a page at a time."""

    action_id: str
    columns: tuple[str, ...]
    noun: str
    total: int
    groups: Groups
    # A search reads every row's text once per request: its matches, by query, for the page.
    _searched: dict[FailureQuery, list[int]] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return self.total

    def top_groups(self) -> Groups:
        return self.groups

    def count_matching(self, query: FailureQuery) -> int:
        if not query.is_filtered:
            return self.total
        if not query.can_match:
            return 0
        if not query.search:
            known = dict(self.groups.top)
            if query.reason in known:
                return known[query.reason]
        if query.search:
            return len(self._search(query))
        return self._matching(query).count()

    def rows_matching(self, query: FailureQuery, start: int, size: int) -> list[list[object]]:
        if query.search:
            positions = self._search(query)[start : start + size]
            found = dict(FailedItem.objects.filter(action_id=self.action_id,
                                                   position__in=positions)
                         .values_list("position", "cells"))
            return [list(found[position]) for position in positions]
        cells = self._matching(query).order_by("position").values_list("cells", flat=True)
        return [list(row) for row in cells[start : start + size]]

    def _search(self, query: FailureQuery) -> list[int]:
        key = FailureQuery(reason=query.reason, search=query.search)  # any page
        if key not in self._searched:
            positions = self._matching(query).order_by("position").values_list("position",
                                                                               flat=True)
            self._searched[key] = list(positions)
        return self._searched[key]

    def rows_for(self, query: FailureQuery) -> Iterator[list[object]]:
        """Chunk by chunk, each a query of its own (keyset on position): a cursor kept open
        for the whole download would hold SQLite's read lock and block every write."""
        rows = self._matching(query).order_by("position")
        start = 0
        while chunk := list(rows.filter(position__gte=start)
                            .values_list("position", "cells")[:_BATCH]):
            for _, cells in chunk:
                yield list(cells)
            start = chunk[-1][0] + 1

    def _matching(self, query: FailureQuery) -> QuerySet[FailedItem]:
        rows = FailedItem.objects.filter(action_id=self.action_id)
        if not query.can_match:
            return rows.none()
        if query.reason:  # stored reasons have no NUL (failures._reason), nor has the query
            rows = rows.filter(reason_hash=reason_hash(query.reason), reason=query.reason)
        if query.search:
            needle = postgres_text.text(query.search.casefold())
            rows = rows.filter(search_text__contains=needle)
        return rows


@dataclass(frozen=True)
class _NoRows(Failures):
    """How many failures a big result has, and none of its rows (never a part of them shown
    as if it were all)."""

    action_id: str
    noun: str
    total: int
    columns: tuple[str, ...] = ()

    def __len__(self) -> int:
        return self.total

    @property
    def total_text(self) -> str:
        return f"{self.total:,}"

    def top_groups(self) -> Groups:
        return Groups([], 0, 0)

    def count_matching(self, query: FailureQuery) -> int:
        return 0

    def rows_matching(self, query: FailureQuery, start: int, size: int) -> list[list[object]]:
        return []

    def rows_for(self, query: FailureQuery) -> Iterator[list[object]]:
        return iter(())


@dataclass(frozen=True)
class LoadingFailures(_NoRows):
    """The failures of a big result whose rows are still being stored."""

    problem: str = ""  # why the last store failed (rows_later.py), while it waits for a retry
    loading = True


@dataclass(frozen=True)
class UnreadableFailures(_NoRows):
    """The failures of a big result whose rows cannot be read: the archive does not answer,
    or (`final`) they were never stored and Voucherify no longer has them."""

    unavailable: str = ""
    final: bool = False


ARCHIVE_DOWN = "the archive that holds them did not answer. Try again in a moment."
GONE = "Voucherify no longer has this action, and they were never stored."


def load(action_id: str) -> StoredFailures | LoadingFailures | UnreadableFailures | None:
    """The stored failures of an action (one query for the summary), or None."""
    summary = FailureSummary.objects.filter(pk=action_id).first()
    if summary is None:
        return None
    if summary.rows_gone:
        return unreadable(action_id, summary.list_lengths, GONE, final=True)
    if not summary.complete:
        return LoadingFailures(action_id=action_id, noun=summary.noun, total=summary.total)
    return StoredFailures(
        action_id=action_id,
        columns=tuple(summary.columns),
        noun=summary.noun,
        total=summary.total,
        groups=Groups([(str(reason), int(count)) for reason, count in summary.groups],
                      summary.other_groups, summary.other_count),
    )


def failures_for(action: Action) -> Failures:
    """The failures of any action: from the database when its result was split, else from the
    result itself. Split rows the database cannot give now are said to be unreadable, never
    the few the action kept shown as all of them; split rows with no summary yet are loading
    (the thread storing them writes it first: rows_later.py)."""
    lengths = kept_apart(action)
    if lengths is None:
        return failures_of(action)
    try:
        stored = load(action.id)
    except Exception:  # the archive is optional for every page
        logger.exception("Reading the failed rows of %s failed", action.id)
        return unreadable(action.id, lengths, ARCHIVE_DOWN)
    if stored is not None:
        return stored
    return loading(action.id, lengths) if _as_trimmed(action, lengths) else failures_of(action)


def _as_trimmed(action: Action, lengths: Mapping[str, int]) -> bool:
    """Whether the result's lists are as trimmed() leaves a big result's: an object from
    upstream may carry the marker too, over lists of its own, which are all it has."""
    raw_result = action.raw.get("result")
    return (isinstance(raw_result, Mapping) and sum(lengths.values()) > KEPT_IN_RESULT
            and all(isinstance(raw_result.get(name), list)
                    and len(raw_result[name]) == min(count, KEPT_IN_RESULT)
                    for name, count in lengths.items()))
