"""csvsafe.csv_stream writes a row as it is and checks the line once; generated hostile rows
(formula starts anywhere, commas, quotes, line breaks, numbers, None) must come out exactly
as neutralising every cell first would write them."""

from __future__ import annotations

import csv
import io
import random
import re

from dashboard.csvsafe import FORMULA_STARTS, csv_stream, neutralise

NUMBER = re.compile(r"-\d+(\.\d+)?")
ALPHABET = ["=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "'", " ", "a", "7", "é", ";"]


def cell(rng: random.Random) -> object:
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.2:
        return rng.choice([-5, 0, 42, -(10**30), 3.5, True])
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 6)))


def reference(headers, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in [headers, *rows]:
        writer.writerow([neutralise(value) for value in row])
    return out.getvalue()


def test_every_generated_row_is_written_as_neutralising_each_cell_would():
    rng = random.Random(14)
    headers = ["id", "=SUM(A1)", "-x"]
    rows = [[cell(rng) for _ in range(rng.randrange(1, 8))] for _ in range(5000)]
    written = "".join(csv_stream(headers, rows))
    assert written == reference(headers, rows)
    parsed = list(csv.reader(io.StringIO(written)))
    assert len(parsed) == len(rows) + 1
    hostile = [value for line in parsed for value in line
               if value.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(value)]
    assert not hostile  # no text cell a spreadsheet would run (negative numbers stay numbers)
    assert any(value.startswith("'=") for line in parsed for value in line)
