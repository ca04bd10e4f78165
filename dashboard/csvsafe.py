"""CSV a spreadsheet opens safely: cells that would run as formulas are neutralised.

Plain Python, shared by the failed-rows export and the purge audit's export.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence

# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A cell of a written CSV line beginning with one of FORMULA_STARTS, or quoted (then it may
# begin with any of them): after a comma, or the line's first cell. A cell holding "\r" is
# always quoted, so an unquoted "\r" after a comma is only the line's end.
_CELL_START = re.compile(r',["=+\-@\t]')
_FIRST_CELL_START = ('"', "=", "+", "-", "@", "\t")


def neutralise(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def csv_stream(headers: Iterable[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header and each row as one CSV line, every cell neutralised (headers too: the
    undocumented keys of failed rows become headers), for a streaming response."""
    writer = csv.writer(_Echo())
    yield writer.writerow([neutralise(header) for header in headers])
    write, suspect, first, starts = (writer.writerow, _CELL_START.search, _FIRST_CELL_START,
                                     FORMULA_STARTS)
    for row in rows:
        # Most rows have no cell to neutralise: written as they are (csv writes None as ""),
        # then checked once (in C) for a cell starting with a formula character or a quote;
        # only then written again cell by cell. A false alarm (any quoted cell, a negative
        # number) just costs the second write.
        line = write(row)
        if suspect(line) or line.startswith(first):
            line = write([
                "'" + value if isinstance(value, str) and value.startswith(starts)
                else "" if value is None else value
                for value in row
            ])
        yield line


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer needs a file)."""

    def write(self, value: str) -> str:
        return value
