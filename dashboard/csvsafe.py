"""CSV a spreadsheet opens safely: cells that would run as formulas are neutralised.

Plain Python, shared by the failed-rows export and the purge audit's export.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def csv_stream(headers: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header and each row as one CSV line, every cell neutralised (headers too: the
    undocumented keys of failed rows become headers), for a streaming response."""
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralise(header) for header in headers])
    starts = FORMULA_STARTS
    for row in rows:
        # neutralise() inlined: a function call per cell was most of a big export's CPU
        yield writer.writerow([
            "'" + value if isinstance(value, str) and value.startswith(starts)
            else "" if value is None else value
            for value in row
        ])


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer needs a file)."""

    def write(self, value: str) -> str:
        return value
