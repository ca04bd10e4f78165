"""Typed, tolerant views of Voucherify's async actions.

Parsing never fails on what Voucherify may add or leave out: unknown types and fields,
a missing, partial or plain-text `result`, `user` and `log_id`. Only an object that is not
an action at all (no id, no creation date) is an InvalidResponseError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, overload

from . import catalog
from .cursor import Cursor, is_valid_action_id
from .dates import parse_timestamp
from .errors import InvalidResponseError, rate_limit_retry
from .numbers import finite_number

__all__ = [
    "Action",
    "ActionPage",
    "ActionResult",
    "Cursor",
    "FailedRow",
    "ParsedItems",
    "RateLimitState",
    "ResultError",
    "is_valid_action_id",
]


T = TypeVar("T")


class ParsedItems(Sequence[T], Generic[T]):
    """A result's list as received, each item parsed when it is read: a result may list
    100,000 failed rows, and the archive stores them from the JSON items themselves
    (dashboard/history/failed_items.py) without an object per row."""

    __slots__ = ("_parse", "raw_items")

    def __init__(self, raw_items: list, parse: Callable[[object], T]) -> None:
        self.raw_items = raw_items
        self._parse = parse

    def __len__(self) -> int:
        return len(self.raw_items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._parse(item) for item in self.raw_items[index]]
        return self._parse(self.raw_items[index])

    def __iter__(self) -> Iterator[T]:
        return map(self._parse, self.raw_items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # like the list it stands for

    def __repr__(self) -> str:
        return repr(list(self))


@dataclass(frozen=True)
class FailedRow:
    code: str | None
    source_id: str | None
    row: int | None
    reason: str | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object) -> FailedRow:
        if not isinstance(data, Mapping):
            return cls(code=None, source_id=None, row=None, reason=_text(data), raw={"value": data})
        return cls(
            code=_text(data.get("code")),
            source_id=_text(data.get("source_id")),
            row=_integer(data.get("row")),
            reason=_text(data.get("reason")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ResultError:
    message: str | None
    details: str | None
    key: str | None
    source_id: str | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: object) -> ResultError:
        if not isinstance(data, Mapping):
            return cls(message=_text(data), details=None, key=None, source_id=None,
                       raw={"value": data})
        return cls(
            message=_text(data.get("message")),
            details=_text(data.get("details")),
            key=_text(data.get("key")),
            source_id=_text(data.get("source_id")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ActionResult:
    message: str | None = None
    done_count: int | None = None
    failed_count: int | None = None
    failed: ParsedItems[FailedRow] = field(
        default_factory=lambda: ParsedItems([], FailedRow.from_json))
    errors: ParsedItems[ResultError] = field(
        default_factory=lambda: ParsedItems([], ResultError.from_json))
    reports: list[str] = field(default_factory=list)
    reports_available_till: datetime | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def has_failures(self) -> bool:
        """True when any row failed, whether counted or only listed."""
        return bool(self.failed_count or self.failed or self.errors)

    def reports_expired(self, now: datetime | None = None) -> bool:
        if self.reports_available_till is None:
            return False
        return (now or datetime.now(UTC)) >= self.reports_available_till

    @classmethod
    def from_json(cls, data: object) -> ActionResult | None:
        """None when there is no result; a message-only result for text; never raises."""
        if data is None or data == {} or data == []:
            return None
        if isinstance(data, str):
            return cls(message=data, raw=data)
        if isinstance(data, list):
            rows = ParsedItems([item for item in data if isinstance(item, Mapping)],
                               FailedRow.from_json)
            texts = [str(item) for item in data if isinstance(item, str)]
            return cls(message="; ".join(texts) or None, failed=rows, raw=data)
        if not isinstance(data, Mapping):
            return cls(message=str(data), raw=data)
        return cls(
            message=_text(data.get("message")),
            done_count=_count(data.get("done_count")),
            failed_count=_count(data.get("failed_count")),
            failed=ParsedItems(_items(data.get("failed")), FailedRow.from_json),
            errors=ParsedItems(_items(data.get("errors")), ResultError.from_json),
            reports=[_report_link(item) for item in _list(data.get("reports")) if item],
            reports_available_till=parse_timestamp(data.get("reports_available_till")),
            raw=data,
        )


@dataclass(frozen=True)
class Action:
    id: str
    type: str
    status: str
    created_at: datetime
    updated_at: datetime | None = None
    request_id: str | None = None
    progress: int | None = None
    processing_time: int | None = None
    operation_status: str | None = None
    user: Any | None = None
    log_id: str | None = None
    result: ActionResult | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_terminal(self) -> bool:
        return self.status in catalog.TERMINAL_STATUSES

    @property
    def is_live(self) -> bool:
        return self.status in catalog.LIVE_STATUSES

    @property
    def duration_ms(self) -> int | None:
        """The processing time when known, else the span from created to updated."""
        return self.processing_time if self.processing_time is not None else self.elapsed_ms

    @property
    def elapsed_ms(self) -> int | None:
        """Time from creation to the last update, for finished actions whose list item carries
        no processing_time (list items never do)."""
        if not self.is_terminal or self.updated_at is None:
            return None
        return max(0, round((self.updated_at - self.created_at).total_seconds() * 1000))

    @property
    def context(self) -> str:
        return catalog.context_of(self.type)

    @property
    def label(self) -> str:
        return catalog.label_of(self.type)

    @property
    def prefix(self) -> str:
        return catalog.prefix_of(self.type)

    @classmethod
    def from_json(cls, data: object) -> Action:
        if not isinstance(data, Mapping):
            raise InvalidResponseError(
                f"Voucherify sent {type(data).__name__} where an async action was expected."
            )
        action_id = data.get("id")
        if not isinstance(action_id, str) or not action_id:
            raise InvalidResponseError("Voucherify sent an async action without an id.")
        created_at = parse_timestamp(data.get("created_at"))
        if created_at is None:
            raise InvalidResponseError(
                f"Voucherify sent async action {action_id[:64]!r} without a readable created_at."
            )
        status = _text(data.get("status"))
        return cls(
            id=action_id,
            type=_text(data.get("type")) or "",
            status=status.upper() if status else catalog.UNKNOWN_STATUS,
            created_at=created_at,
            updated_at=parse_timestamp(data.get("updated_at")),
            request_id=_text(data.get("request_id")),
            progress=_percentage(data.get("progress")),
            processing_time=_integer(data.get("processing_time")),
            operation_status=_text(data.get("operation_status")),
            user=data.get("user"),
            log_id=_text(data.get("log_id")),
            result=ActionResult.from_json(data.get("result")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ActionPage:
    actions: list[Action]
    has_more: bool
    next_cursor: Cursor | None = None
    cursor: Cursor | None = None


@dataclass(frozen=True)
class RateLimitState:
    """What the X-Rate-Limit-* headers of the latest response said."""

    limit: int | None
    remaining: int | None
    retry_at: datetime | None
    type: str | None
    observed_at: datetime

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitState | None:
        """None when the response carried none of the headers."""
        limit = headers.get("X-Rate-Limit-Limit")
        remaining = headers.get("X-Rate-Limit-Remaining")
        retry = headers.get("X-Rate-Limit-Retry")
        kind = headers.get("X-Rate-Limit-Type")
        if limit is None and remaining is None and retry is None and kind is None:
            return None
        now = datetime.now(UTC)
        return cls(
            limit=_integer(limit),
            remaining=_integer(remaining),
            retry_at=_moment(retry, now),
            type=_text(kind),
            observed_at=now,
        )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return str(value)


def _moment(value: object, now: datetime) -> datetime | None:
    moment = rate_limit_retry(value, now.timestamp())
    return None if moment is None else datetime.fromtimestamp(moment, UTC)


# A count, row or duration past what a database's BIGINT holds is no sensible number: read as
# unknown like any non-number, so every consumer (the archive's columns, the failed-rows
# table) can store what this module gives.
_BIG_INTEGERS = range(-(2**63), 2**63)


def _integer(value: object) -> int | None:
    number = finite_number(value)
    if number is None:
        return None
    whole = int(number)
    return whole if whole in _BIG_INTEGERS else None


def _count(value: object) -> int | None:
    """A number of rows: a negative one is no count, read as unknown."""
    number = _integer(value)
    return None if number is None or number < 0 else number


def _percentage(value: object) -> int | None:
    """Progress as a percentage, 0..100 (the OpenAPI document's range) whatever was sent."""
    number = _integer(value)
    return None if number is None else min(100, max(0, number))


def _list(value: object) -> list:
    return list(value) if isinstance(value, list | tuple) else []


def _items(value: object) -> list:
    """A result's failed rows or errors: a list, or one object standing for one (the OpenAPI
    document gives VOUCHERS.IMPORT's and ORDERS.IMPORT's `failed` as an object)."""
    if isinstance(value, Mapping):
        return [value] if value else []
    return _list(value)


def _report_link(item: object) -> str:
    if isinstance(item, Mapping):
        for name in ("url", "link", "href"):
            if item.get(name):
                return str(item[name])
    return str(item)


# How FailedRow and ResultError read one field, for code that reads a result's JSON items
# without an object per item (dashboard/history/failures.py).
text_value = _text
integer_value = _integer
