"""What is known about upstream, kept in Django's cache with the moment it was read."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache

from dashboard import hot
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
    return load_many([name]).get(name)


def load_many(names: list[str]) -> dict[str, Fetched[Any]]:
    """The entries found, from this process's memory (hot.py) while they are fresh, else
    from the shared cache in one round trip."""
    found = {}
    for name in names:
        entry = recalled(name)
        if entry is not None:
            found[name] = entry
    missing = [name for name in names if name not in found]
    if missing:
        for name, value in cache.get_many(missing).items():
            if isinstance(value, Fetched):
                found[name] = value
                _remember(name, value)
    return found


def recalled(name: str) -> Fetched[Any] | None:
    """The entry this process read or wrote lately, while it is fresh; no round trip."""
    entry = hot.get(name)
    return entry if entry is not None and _fresh(entry) else None


def save(name: str, value: T, *, forever: bool = False) -> Fetched[T]:
    entry = read_now(value)
    cache.set(name, entry, None if forever else KEEP_SECONDS)
    _remember(name, entry)
    return entry


def save_many(entries: dict[str, Fetched[Any]]) -> None:
    cache.set_many(entries, KEEP_SECONDS)
    for name, entry in entries.items():
        _remember(name, entry)


def _fresh(entry: Fetched[Any]) -> bool:
    """Young enough to be served without asking the shared cache for a newer one."""
    return entry.is_fresh(float(settings.ACTIONS_POLL_INTERVAL))


def _remember(name: str, entry: Fetched[Any]) -> None:
    if _fresh(entry):
        hot.put(name, entry)
    else:
        hot.forget([name])


def newest(entries: list[Fetched[Any] | None]) -> Fetched[Any] | None:
    """The most recently read of several entries for the same thing."""
    present = [entry for entry in entries if entry is not None]
    return max(present, key=lambda entry: entry.fetched_at, default=None)
