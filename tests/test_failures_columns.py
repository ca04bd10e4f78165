"""The failed-rows table reads a result's JSON items a column at a time (no object per row):
for generated hostile items it shows exactly what reading each item as a FailedRow or
ResultError shows, and the search text is every cell casefolded."""

from __future__ import annotations

import dataclasses
import random

from dashboard.history.failed_items import search_texts
from dashboard.history.failures import KNOWN_COLUMNS, NO_REASON, FailureSet, failures_of
from dashboard.voucherify import Action, FailedRow, ResultError

VALUES = [None, "", " ", "x", "Straße", "ǅ", "\x00a", "=1+1", 0, 1, -5, 2**60 + 1, 1.5, True,
          False, [1], {"a": 1}, "12", "1e3"]
KEYS = ["code", "source_id", "row", "reason", "message", "details", "key", "kind", "value",
        "extra", "ZZ", "über"]


def generated_item(rnd: random.Random) -> object:
    if rnd.random() < 0.05:  # not an object at all
        return rnd.choice([None, "plain text", 5, ["a"], True])
    return {key: rnd.choice(VALUES) for key in rnd.sample(KEYS, rnd.randint(0, 6))}


def generated_result(rnd: random.Random) -> object:
    if rnd.random() < 0.1:  # a result sent as a list
        return [generated_item(rnd) for _ in range(rnd.randint(0, 5))] + ["text"]
    result = {}
    if rnd.random() < 0.8:
        result["failed"] = [generated_item(rnd) for _ in range(rnd.randint(0, 6))]
    if rnd.random() < 0.5:
        result["errors"] = [generated_item(rnd) for _ in range(rnd.randint(0, 6))]
    return result


def item_cells(item: FailedRow | ResultError) -> tuple[dict[str, object], str]:
    """One parsed item's cells as documented: the fields it has (sent, even as null, or
    parsed), then the undocumented ones as text; and its reason."""
    if isinstance(item, FailedRow):
        kind, names, reason = "Failed row", ("code", "source_id", "row", "reason"), item.reason
    else:
        kind, names = "Error", ("message", "details", "key", "source_id")
        reason = item.message or item.details
    cells: dict[str, object] = {"kind": kind}
    for name in names:
        value = getattr(item, name)
        if value is not None or name in item.raw:
            cells[name] = value
    for name, value in item.raw.items():
        if name not in {*KNOWN_COLUMNS, "kind", "value"}:
            plain = value is None or isinstance(value, str | int | float | bool)
            cells[name] = value if plain else str(value)
    # The reason as a browser shows it and sends it back: NUL as U+FFFD.
    return cells, (reason or "").strip().replace("\x00", "\ufffd") or NO_REASON


def expected(action: Action) -> tuple[list[str], list[tuple[dict, str]]]:
    records = [item_cells(item) for item in [*action.result.failed, *action.result.errors]]
    both = bool(action.result.failed) and bool(action.result.errors)
    present = dict.fromkeys(name for cells, _ in records for name in cells)
    columns = ["kind"] if both else []
    columns += [column for column in KNOWN_COLUMNS if column in present]
    columns += [name for name in present if name not in columns and name != "kind"]
    return columns, [({column: cells.get(column) for column in columns}, reason)
                     for cells, reason in records]


def shown(failures: FailureSet) -> list[tuple[dict[str, object], str]]:
    """Each failure's cells by column, and its reason."""
    return [(dict(zip(failures.columns, cells, strict=True)), reason)
            for cells, reason in zip(failures.cells, failures.reasons, strict=True)]


def test_generated_results_read_as_their_parsed_items_do():
    rnd = random.Random(20261129)
    for _ in range(400):
        action = Action.from_json({"id": "aa_0123456789abcdef01", "type": "VOUCHERS.IMPORT",
                                   "status": "DONE", "created_at": "2024-05-01T10:00:00Z",
                                   "result": generated_result(rnd)})
        if action.result is None:
            continue
        columns, records = expected(action)
        failures = failures_of(action)
        assert list(failures.columns) == columns
        assert repr(shown(failures)) == repr(records)  # repr: True and 1, 1.0 and 1 differ
        # A result built in code, its lists holding parsed objects, reads the same.
        built = dataclasses.replace(action, result=dataclasses.replace(
            action.result, failed=list(action.result.failed), errors=list(action.result.errors)))
        assert repr(shown(failures_of(built))) == repr(records)
        assert search_texts(failures.cells) == [
            "\x1f".join(str(value).casefold() for value in cells.values()
                        if value is not None).replace("\x00", "\ufffd")
            for cells, _ in records
        ]
