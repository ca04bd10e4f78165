"""What is known about upstream, kept in Django's cache with the moment it was read."""

from __future__ import annotations

import dataclasses
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
    """A value read from upstream, when it was read, and whether it is served stale.

    The one form of everything the layer knows: kept in the cache as it is, handed to views.
    """

    value: T
    fetched_at: datetime  # when the data was read from upstream (aware UTC)
    stale: bool = False  # served from what is known (budget short, upstream failing)
    problem: VoucherifyError | None = None  # why it is stale, for the page to explain

    @property
    def age_seconds(self) -> float:
        return self.age()

    def age(self, at: float | None = None) -> float:
        return max(0.0, (now() if at is None else at) - self.fetched_at.timestamp())

    def is_fresh(self, max_age: float, at: float | None = None) -> bool:
        return self.age(at) < max_age

    def stale_because(self, problem: VoucherifyError) -> Fetched[T]:
        """What is known, served instead of a fresh read that `problem` prevented."""
        return dataclasses.replace(self, stale=True, problem=problem)


def read_now(value: T) -> Fetched[T]:
    """`value` as read from upstream at this moment of the layer's clock."""
    return Fetched(value, datetime.fromtimestamp(now(), UTC))


def now() -> float:
    """Epoch seconds; the one clock of the layer (tests move it forward)."""
    return time.time()


def key(*parts: object) -> str:
    return PREFIX + ":".join(str(part) for part in parts)


def load(name: str) -> Fetched[Any] | None:
    found = cache.get(name)
    return found if isinstance(found, Fetched) else None


def load_many(names: list[str]) -> dict[str, Fetched[Any]]:
    found = cache.get_many(names)
    return {name: value for name, value in found.items() if isinstance(value, Fetched)}


def save(name: str, value: T, *, forever: bool = False) -> Fetched[T]:
    entry = read_now(value)
    cache.set(name, entry, None if forever else KEEP_SECONDS)
    return entry


def newest(entries: list[Fetched[Any] | None]) -> Fetched[Any] | None:
    """The most recently read of several entries for the same thing."""
    present = [entry for entry in entries if entry is not None]
    return max(present, key=lambda entry: entry.fetched_at, default=None)
