"""A purge's audit cells from what Voucherify sent: who started it (`user_text`) and how many
records it updated (`records_updated`), worked out once when the purge is stored (archive.py)
and again only for a cell the purge index holds cut (purge_reads.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_COUNT_DIGITS = 18  # a longer "count" is kept as the text Voucherify sent
_UPDATED = re.compile(r"\bupdated\s+(\d[\d,]*)", re.IGNORECASE)
_STORED_NUMBER = re.compile(rf"-?\d{{1,{MAX_COUNT_DIGITS}}}")


def records_updated(result: object) -> int | str | None:
    """`done_count`, else the number in a message such as "Updated 42 customers.".

    Whatever Voucherify sent is kept: a count too long to be a sensible number (a message
    with thousands of digits) stays text, never an error.
    """
    if isinstance(result, Mapping):
        done = result.get("done_count")
        if isinstance(done, int) and not isinstance(done, bool):
            return done if abs(done) < 10**MAX_COUNT_DIGITS else _digits_text(done)
        result = result.get("message")
    if isinstance(result, str):
        match = _UPDATED.search(result)
        if match:
            digits = match.group(1).replace(",", "")
            return int(digits) if len(digits) <= MAX_COUNT_DIGITS else digits
    return None


def records_text(result: object) -> str:
    """records_updated as the archive stores it: text, "" when not known."""
    found = records_updated(result)
    return "" if found is None else str(found)


def stored_records(text: str) -> int | str | None:
    """records_updated back from its stored text (a number when it was one)."""
    if not text:
        return None
    return int(text) if _STORED_NUMBER.fullmatch(text) else text


def _digits_text(number: int) -> str:
    try:
        return str(number)
    except ValueError:  # beyond Python's int-to-text limit
        return "a number of more than 4,300 digits"


def user_text(user: object) -> str | None:
    """Who, as Voucherify described them: email, name or id; None when unknown."""
    if isinstance(user, Mapping):
        for name in ("email", "name", "username", "id"):
            if user.get(name):
                return str(user[name])
        return None
    return str(user) if user not in (None, "", {}, []) else None
