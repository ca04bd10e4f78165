"""What the failed-rows table shows of one page of failures: the columns worth showing, and how
each cell wraps. No requests, no queries: it reads the page already built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlencode

from dashboard.history.failures import COLUMN_LABELS, NO_REASON, FailurePage

# Ids a person copies or reads whole (an e-mail, a voucher code): never broken mid-word...
ID_COLUMNS = frozenset({"code", "source_id", "key", "row"})
# ...unless longer than a column can hold: then broken anywhere, the whole in a title.
LONG_ID = 40
TITLE_LIMIT = 300  # characters of a long id repeated in its title
# Columns that hold the reason a failure is grouped under (an error's is its message).
REASON_COLUMNS = ("reason", "message", "details")


class Cell(NamedTuple):
    value: object
    is_id: bool = False
    is_long: bool = False

    @property
    def title(self) -> str:
        return str(self.value)[:TITLE_LIMIT]


class Group(NamedTuple):
    reason: str
    count: int
    words: str  # "rows failed", "error"
    current: bool  # the reason the table is filtered to


@dataclass(frozen=True)
class FailureTable:
    """The table of one failures page: its headers, its cells, and the reason shown once
    above it when the page is filtered to one reason (not once per row)."""

    groups: list[Group]
    headers: list[str]
    rows: list[list[Cell]]
    reason: str  # "" unless filtered to one reason
    reason_words: str  # "rows failed", for the heading over the rows of one reason
    csv_query: str  # "?reason=...&q=..." for "Download these N", "" when not filtered


def failure_table(page: FailurePage) -> FailureTable:
    failures = page.failures
    hidden = _reason_columns(page)
    shown = [index for index, column in enumerate(failures.columns) if column not in hidden]
    rows = [[_cell(failures.columns[index], row[index]) for index in shown] for row in page.rows]
    filters = page.query.filters
    reason = page.query.reason
    return FailureTable(
        groups=[Group(text, count, failures.count_words(count), text == reason)
                for text, count in page.groups],
        headers=[COLUMN_LABELS.get(failures.columns[index], failures.columns[index])
                 for index in shown],
        rows=rows,
        reason=reason,
        reason_words=failures.count_words(page.matching) if reason else "",
        csv_query=f"?{urlencode(filters)}" if filters else "",
    )


def _reason_columns(page: FailurePage) -> set[str]:
    """Columns that only repeat the reason filtered on, on every row of the page."""
    reason = page.query.reason
    if not reason or not page.rows:
        return set()
    hidden = set()
    for column in REASON_COLUMNS:
        if column not in page.failures.columns:
            continue
        index = page.failures.columns.index(column)
        texts = [_text(row[index]) for row in page.rows]
        if reason == NO_REASON:
            repeats = not any(texts)
        else:
            repeats = reason in texts and all(text in ("", reason) for text in texts)
        if repeats:
            hidden.add(column)
    return hidden


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _cell(column: str, value: object) -> Cell:
    if column not in ID_COLUMNS or value is None:
        return Cell(value)
    return Cell(value, is_id=True, is_long=len(str(value)) > LONG_ID)
