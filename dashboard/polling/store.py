"""What is known about upstream, kept in Django's cache with the moment it was read."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.core.cache import cache

from dashboard.voucherify.errors import VoucherifyError

T = TypeVar("T")

PREFIX = "polling:"
# Known values outlive their freshness by far: they are what is served when short of budget.
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A value read from upstream, when it was read, and whether it is served stale."""

    value: T
    fetched_at: datetime  # when the data was read from upstream (aware UTC)
    stale: bool = False  # served from what is known (budget short, upstream failing)
    problem: VoucherifyError | None = None  # why it is stale, for the page to explain

    @property
    def age_seconds(self) -> float:
        return max(0.0, now() - self.fetched_at.timestamp())


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A cached upstream value; `fetched_at` is epoch seconds (comparable across processes)."""

    value: T
    fetched_at: float

    def age(self, at: float | None = None) -> float:
        return max(0.0, (now() if at is None else at) - self.fetched_at)

    def is_fresh(self, max_age: float, at: float | None = None) -> bool:
        return self.age(at) < max_age

    def served(self, *, problem: VoucherifyError | None = None) -> Fetched[T]:
        moment = datetime.fromtimestamp(self.fetched_at, UTC)
        return Fetched(self.value, moment, stale=problem is not None, problem=problem)


def now() -> float:
    """Epoch seconds; the one clock of the layer (tests move it forward)."""
    return time.time()


def key(*parts: object) -> str:
    return PREFIX + ":".join(str(part) for part in parts)


def load(name: str) -> Entry[Any] | None:
    found = cache.get(name)
    return found if isinstance(found, Entry) else None


def load_many(names: list[str]) -> dict[str, Entry[Any]]:
    found = cache.get_many(names)
    return {name: value for name, value in found.items() if isinstance(value, Entry)}


def save(name: str, value: T, *, forever: bool = False, at: float | None = None) -> Entry[T]:
    entry = Entry(value, now() if at is None else at)
    cache.set(name, entry, None if forever else KEEP_SECONDS)
    return entry


def newest(entries: list[Entry[Any] | None]) -> Entry[Any] | None:
    """The most recently read of several entries for the same thing."""
    present = [entry for entry in entries if entry is not None]
    return max(present, key=lambda entry: entry.fetched_at, default=None)
