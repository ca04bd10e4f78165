"""Failed rows and errors of one action: normalised, grouped by reason, filtered, paged, CSV.

`Failures` is what the table and the CSV read. `FailureSet` is plain Python over the result's
JSON items, read column by column (a live action, a small result, and what the archive
stores); a big archived result is read from the database instead
(dashboard/history/failed_items.py), so the page only ever carries one page of rows.
"""

from __future__ import annotations

import heapq
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from dashboard import postgres_text
from dashboard.csvsafe import csv_stream
from dashboard.voucherify.models import (
    Action,
    ActionResult,
    ParsedItems,
    integer_value,
    text_value,
)

# Query-string names, shared by the view, the templates and the tests.
PAGE_PARAM = "rows_page"
REASON_PARAM = "reason"
SEARCH_PARAM = "q"
PAGE_SIZE = 50
TOP_GROUPS = 10
# Longer than gunicorn lets a request line be (4094 bytes), so a reason or search a page sends
# is never cut: a cut one would filter to other rows than those offered. Only a hostile
# address goes past it, and then matches nothing rather than a part of what it asked for.
_MAX_PARAM_LENGTH = 20_000
# Between cells in the stored search text (failed_items): a search holding it would span two
# cells there, so it matches nothing, in memory as in the database.
CELL_SEPARATOR = "\x1f"
CSV_CHUNK_LINES = 500

# Known fields of a failed row, then of an error, in the order the columns are shown.
KNOWN_COLUMNS = ("code", "source_id", "row", "reason", "message", "details", "key")
COLUMN_LABELS = {
    "kind": "Kind",
    "code": "Code",
    "source_id": "Source id",
    "row": "Row",
    "reason": "Reason",
    "message": "Message",
    "details": "Details",
    "key": "Key",
}
NO_REASON = "(no reason given)"


def searchable(cells: Iterable[object]) -> list[str]:
    """What the search box compares a needle with (casefolded): each cell that has a value."""
    return [str(value).casefold() for value in cells if value is not None]


class Groups(NamedTuple):
    """The most frequent reasons with their counts, and how many failures the rest hold."""

    top: list[tuple[str, int]]
    other_groups: int  # reasons beyond the top ones
    other_count: int  # failures under those reasons


class Failures:
    """Every failure of an action, wherever they are kept; subclasses say how to read them."""

    columns: tuple[str, ...]
    noun: str  # "rows", "errors" or "items" (rows and errors together), for sentences
    loading = False  # True while a big result's rows are still being stored (no rows yet)
    unavailable = ""  # why none of a big result's rows can be read, when they cannot

    @property
    def rows_withheld(self) -> bool:
        """A count and none of the rows (loading, or unreadable now): never a part of them
        shown, or exported, as if it were all."""
        return self.loading or bool(self.unavailable)

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def noun_one(self) -> str:
        return self.noun.removesuffix("s")

    @property
    def headers(self) -> list[str]:
        return [COLUMN_LABELS.get(column, column) for column in self.columns]

    def top_groups(self) -> Groups:
        raise NotImplementedError

    def count_matching(self, query: FailureQuery) -> int:
        raise NotImplementedError

    def rows_matching(self, query: FailureQuery, start: int, size: int) -> list[list[object]]:
        """Cells of the matching failures start..start+size, in the order Voucherify sent."""
        raise NotImplementedError

    def all_rows(self) -> Iterator[list[object]]:
        return self.rows_for(FailureQuery())

    def rows_for(self, query: FailureQuery) -> Iterator[list[object]]:
        """Cells of every failure matching the reason and search (any page), streamed."""
        raise NotImplementedError

    @property
    def heading(self) -> str:
        """The failures section's title: each result shape names what it lists."""
        return HEADINGS.get(self.noun, "Failed rows")

    def count_words(self, count: int) -> str:
        """What follows a count: "rows failed", "error", "items failed"."""
        noun = self.noun_one if count == 1 else self.noun
        return noun if self.noun == "errors" else f"{noun} failed"


# An error is itself what failed: "errors failed" says it twice.
HEADINGS = {"rows": "Failed rows", "errors": "Errors", "items": "Failed items"}


@dataclass(frozen=True)
class FailureSet(Failures):
    """Every failure of a result as plain cells in column order, with its reason, in the order
    Voucherify sent them. Read from the JSON items column by column (C-level loops, no object
    per row: results run to 100,000 rows); the archive stores these (failed_items.py)."""

    columns: tuple[str, ...]
    cells: Sequence[tuple[object, ...]] = ()
    reasons: Sequence[str] = ()
    noun: str = "rows"

    def __len__(self) -> int:
        return len(self.cells)

    def groups(self) -> list[tuple[str, int]]:
        """Reasons with how many failures each, the most frequent first."""
        return sorted_groups(Counter(self.reasons))

    def top_groups(self) -> Groups:
        return top_of(self.groups())

    def count_matching(self, query: FailureQuery) -> int:
        return sum(1 for _ in self._matching(query))

    def rows_matching(self, query: FailureQuery, start: int, size: int) -> list[list[object]]:
        return [list(cells) for cells in itertools.islice(self._matching(query), start,
                                                           start + size)]

    def rows_for(self, query: FailureQuery) -> Iterator[list[object]]:
        return map(list, self._matching(query))

    def _matching(self, query: FailureQuery) -> Iterator[tuple[object, ...]]:
        if not query.can_match:
            return iter(())
        needle = query.search.casefold()
        return (cells for cells, reason in zip(self.cells, self.reasons, strict=True)
                if (not query.reason or reason == query.reason)
                and (not needle or any(needle in text for text in searchable(cells))))


def sorted_groups(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Reasons by count, the most frequent first (ties by reason)."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def top_of(groups: list[tuple[str, int]]) -> Groups:
    others = groups[TOP_GROUPS:]
    return Groups(groups[:TOP_GROUPS], len(others), sum(count for _, count in others))


def top_counts(counts: Mapping[str, int]) -> Groups:
    """top_of(sorted_groups(counts)) without sorting every reason (they may be 100,000)."""
    top = heapq.nsmallest(TOP_GROUPS, counts.items(), key=lambda pair: (-pair[1], pair[0]))
    shown = sum(count for _, count in top)
    return Groups(top, len(counts) - len(top), sum(counts.values()) - shown)


@dataclass(frozen=True)
class FailureQuery:
    page: int = 1
    reason: str = ""
    search: str = ""

    @property
    def is_filtered(self) -> bool:
        return bool(self.reason or self.search)

    @property
    def can_match(self) -> bool:
        """False for a filter no row can match whole (see _MAX_PARAM_LENGTH, CELL_SEPARATOR)."""
        return (CELL_SEPARATOR not in self.search
                and max(len(self.reason), len(self.search)) <= _MAX_PARAM_LENGTH)

    @property
    def filters(self) -> dict[str, str]:
        """The filter as query-string pairs, without the page: the CSV of the same rows and
        the export log use them."""
        pairs = ((REASON_PARAM, self.reason), (SEARCH_PARAM, self.search))
        return {name: value for name, value in pairs if value}


@dataclass(frozen=True)
class FailurePage:
    """What the failed-rows table shows: one page of the filtered failures, and the groups."""

    failures: Failures
    query: FailureQuery
    rows: list[list[object]]
    matching: int
    page: int
    pages: int
    first: int  # 1-based position of the first row shown (0 when none)
    last: int
    groups: list[tuple[str, int]]
    other_groups: int  # reasons beyond the top ones shown
    other_count: int  # failures under those reasons

    @property
    def total(self) -> int:
        return len(self.failures)

    @property
    def reason_options(self) -> list[tuple[str, int | None]]:
        """The top reasons, plus the one filtered on when it is not among them."""
        options: list[tuple[str, int | None]] = list(self.groups)
        if self.query.reason and all(reason != self.query.reason for reason, _ in options):
            options.append((self.query.reason, None))
        return options

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def previous_page(self) -> int:
        return self.page - 1

    @property
    def next_page(self) -> int:
        return self.page + 1


def parse_query(params: Mapping[str, str]) -> FailureQuery:
    """Lenient: a bad page number means the first page, never an error."""
    try:
        page = max(1, int(str(params.get(PAGE_PARAM, "1")).strip()))
    except ValueError:
        page = 1
    reason = postgres_text.text(str(params.get(REASON_PARAM, "") or ""))
    search = str(params.get(SEARCH_PARAM, "") or "").strip()
    return FailureQuery(page=page, reason=reason, search=search)


def noun_for(failed: bool, errors: bool) -> str:
    """What a result's lists hold, for sentences: "items" when both are there."""
    if failed and errors:
        return "items"
    return "errors" if errors else "rows"


def failures_of(action: Action) -> FailureSet:
    """The cells and reason of every failed row and error of the action's result, with only
    the columns the data has.

    Cells are read as FailedRow and ResultError read them: a documented field the item has
    (sent, even as null), then fields nobody documented, as text."""
    result = action.result
    if not isinstance(result, ActionResult):
        return FailureSet(columns=())
    failed = [_as_mapping(item, "reason") for item in _json_items(result.failed, _ROW)]
    errors = [_as_mapping(item, "message") for item in _json_items(result.errors, _ERROR)]
    both = bool(failed) and bool(errors)
    # Every name once, in the order first seen.
    present = dict.fromkeys(itertools.chain(_present(failed, _ROW), _present(errors, _ERROR)))
    columns: list[str] = ["kind"] if both else []
    columns += [column for column in KNOWN_COLUMNS if column in present]
    columns += [name for name in present if name not in columns]
    cells, reasons = _shaped(failed, _ROW, columns)
    error_cells, error_reasons = _shaped(errors, _ERROR, columns)
    return FailureSet(columns=tuple(columns), noun=noun_for(bool(failed), bool(errors)),
                      cells=cells + error_cells,
                      reasons=reasons + error_reasons)


class _Kind(NamedTuple):
    label: str
    fields: dict[str, Callable[[object], object]]  # documented fields, read as the model does
    reasons: tuple[str, ...]  # the first of these with a value is the reason


_ROW = _Kind("Failed row", {"code": text_value, "source_id": text_value, "row": integer_value,
                            "reason": text_value}, ("reason",))
_ERROR = _Kind("Error", {"message": text_value, "details": text_value, "key": text_value,
                         "source_id": text_value}, ("message", "details"))
# Values each reader returns unchanged (JSON gives exact types): a column of only these
# needs no call per row.
_KEPT_AS_IS: dict[Callable, frozenset[type]] = {
    text_value: frozenset({str, type(None)}),
    integer_value: frozenset({int, type(None)}),
}
_EXACT_INTEGERS = 2**53  # integer_value goes through a float: exact up to here


def _json_items(items: Sequence, kind: _Kind) -> list:
    """The JSON items of a result's list: as received, or rebuilt from parsed objects when
    the list holds those (a result built in code)."""
    if isinstance(items, ParsedItems):
        return items.raw_items
    return [{**{name: value for name, value in item.raw.items() if name != "value"},
             **{name: getattr(item, name) for name in kind.fields
                if getattr(item, name) is not None}}
            for item in items]


def _as_mapping(item: object, name: str) -> Mapping:
    """An item that is not an object is read as its text under `name` (as the model does)."""
    if isinstance(item, Mapping):
        return item
    return {} if item is None else {name: text_value(item)}


def _present(items: list[Mapping], kind: _Kind) -> list[str]:
    names = dict.fromkeys(itertools.chain.from_iterable(items))
    return [str(name) for name in names if name in kind.fields or name not in _NOT_EXTRA]


def _shaped(
    items: list[Mapping], kind: _Kind, columns: list[str]
) -> tuple[list[tuple[object, ...]], list[str]]:
    """The items' cells, a column at a time, and their reasons."""
    if not items:
        return [], []
    read = {column: _column(items, kind.fields.get(column, _plain), column)
            for column in {*columns, *kind.reasons} if column in kind.fields
            or column not in _NOT_EXTRA}
    missing = [None] * len(items)
    values = [[kind.label] * len(items) if column == "kind" else read.get(column, missing)
              for column in columns]
    first, *rest = (read[name] for name in kind.reasons)
    texts = [next(filter(None, texts), None) for texts in zip(first, *rest, strict=True)] \
        if rest else first
    return list(zip(*values, strict=True)) or [()] * len(items), list(map(_reason, texts))


def _column(items: list[Mapping], reader: Callable[[object], object], name: str) -> list:
    """One field of every item, read as the model reads it."""
    values = list(map(operator.methodcaller("get", name), items))
    if set(map(type, values)) <= _KEPT_AS_IS.get(reader, _PLAIN_TYPES) and (
        reader is not integer_value
        or max(map(abs, filter(None, values)), default=0) <= _EXACT_INTEGERS
    ):
        return values
    return list(map(reader, values))


def page_of(failures: Failures, query: FailureQuery, page_size: int = PAGE_SIZE) -> FailurePage:
    """The requested page of the failures that match the reason and search filters."""
    matching = failures.count_matching(query)
    pages = max(1, -(-matching // page_size))
    page = min(query.page, pages)
    start = (page - 1) * page_size
    shown = failures.rows_matching(query, start, page_size) if matching else []
    groups = failures.top_groups()
    return FailurePage(
        failures=failures,
        query=query,
        rows=shown,
        matching=matching,
        page=page,
        pages=pages,
        first=start + 1 if shown else 0,
        last=start + len(shown),
        groups=groups.top,
        other_groups=groups.other_groups,
        other_count=groups.other_count,
    )


def csv_lines(failures: Failures, query: FailureQuery | None = None) -> Iterator[str]:
    """The header and one line per failure matching the query (every failure without one),
    streamed a few hundred lines per chunk: the server writes each chunk to the socket on its
    own, and 100,000 writes of one line each cost more than building the lines."""
    lines = csv_stream(failures.headers, failures.rows_for(query or FailureQuery()))
    while chunk := "".join(itertools.islice(lines, CSV_CHUNK_LINES)):
        yield chunk


def csv_filename(action: Action, *, filtered: bool = False) -> str:
    """`<id>-<type>-failures[-filtered].csv` with only characters safe in a
    Content-Disposition header."""
    stem = f"{action.id}-{action.type or 'action'}-failures{'-filtered' if filtered else ''}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:150] + ".csv"



_NOT_EXTRA = frozenset({*KNOWN_COLUMNS, "kind", "value"})


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _reason(text: str | None) -> str:
    # NUL as U+FFFD on every database and in memory: that is what a browser shows and sends
    # back (the reason select's value), and what PostgreSQL stores (postgres_text).
    text = postgres_text.text((text or "").strip())
    return text or NO_REASON
