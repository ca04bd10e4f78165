"""The position of the next older page, exact even when actions share a `created_at`.

Voucherify's `end_date` keeps actions created strictly before it, so a cursor made of the
last action's date alone would skip that action's twins on the next page. A cursor therefore
also remembers which actions at that very instant were already returned (`seen`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .dates import ceil_ms, floor_ms, format_timestamp, parse_user_datetime, plus_ms

ACTION_ID_MAX_LENGTH = 64
_ACTION_ID = re.compile(r"aa_[A-Za-z0-9]+")
_SEEN_SEPARATOR = "~"
_ID_SEPARATOR = "."
# More than this many ids in one cursor string is not something the dashboard produces.
_MAX_SEEN = 200


def is_valid_action_id(value: object) -> bool:
    """True for `aa_` followed by letters and digits only, at most 64 characters."""
    return (
        isinstance(value, str)
        and len(value) <= ACTION_ID_MAX_LENGTH
        and _ACTION_ID.fullmatch(value) is not None
    )


@dataclass(frozen=True)
class Cursor:
    before: datetime
    seen: frozenset[str] = field(default_factory=frozenset)

    def to_param(self) -> str:
        """One URL-safe string: the instant, then `~` and the ids already seen there."""
        stamp = format_timestamp(self.before)
        if not self.seen:
            return stamp
        return stamp + _SEEN_SEPARATOR + _ID_SEPARATOR.join(sorted(self.seen))

    @classmethod
    def from_param(cls, value: str) -> Cursor:
        """Read `to_param` output or a date/date-time typed by a person; ValueError on junk."""
        if not isinstance(value, str):
            raise ValueError("A cursor must be text such as 2026-11-01T10:00:00Z.")
        stamp, _, ids = value.strip().partition(_SEEN_SEPARATOR)
        before = parse_user_datetime(stamp)
        seen = frozenset(part for part in ids.split(_ID_SEPARATOR) if part) if ids else frozenset()
        if len(seen) > _MAX_SEEN or not all(is_valid_action_id(part) for part in seen):
            raise ValueError("The cursor's list of action ids is damaged; start from the newest.")
        return cls(before=before, seen=seen)

    @property
    def end_date(self) -> datetime:
        """What to send as `end_date`.

        With ids seen at `before`, one millisecond later so that the unseen twins at `before`
        come back too (the already seen ones are dropped by the client); with none, `before`
        itself, strictly.
        """
        if self.seen:
            return plus_ms(floor_ms(self.before))
        return ceil_ms(self.before)

    def strict(self) -> Cursor:
        """The same instant without memory of twins: everything strictly older."""
        return Cursor(before=self.before)
