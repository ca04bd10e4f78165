"""What is known about upstream, kept in Django's cache with the moment it was read."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache

from dashboard import hot
from dashboard.voucherify.errors import VoucherifyError

T = TypeVar("T")
logger = logging.getLogger(__name__)

PREFIX = "polling:"
# Known values outlive their freshness by far: they are what is served when short of budget.
KEEP_SECONDS = 24 * 3600
# Moved by every upstream read any process stores (see reads_epoch).
READS_EPOCH_KEY = PREFIX + "reads-epoch"
_READS_EPOCH_SEEN = PREFIX + "reads-epoch-seen"  # in hot.py's memory
# How long a process goes on with the epoch it read: how late at most it learns of a read
# another process stored. A shared cache read this often per process costs nothing.
READS_EPOCH_MEMORY_SECONDS = 0.05
_moved_here: ContextVar[str] = ContextVar("reads_epoch_moved_here", default="")
_epoch_known = ""  # the reads epoch this process last read or set
# Set while an upstream call is made and its answer stored: when it was asked (read_now).
_asked_at: ContextVar[float | None] = ContextVar("asked_at", default=None)


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
    """`value` as read from upstream at this moment of the layer's clock, or when the call
    that read it was made (asking): it holds upstream's state as of then at the latest, and
    the next refresh, due once it is as old as the pace allows, is then not put off by as
    long as each call takes."""
    asked_at = _asked_at.get()
    return Fetched(value, datetime.fromtimestamp(now() if asked_at is None else asked_at, UTC))


@contextmanager
def asking() -> Iterator[None]:
    """Around one upstream call and the storing of what it read (see read_now)."""
    token = _asked_at.set(now())
    try:
        yield
    finally:
        _asked_at.reset(token)


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
    return load_along(names, [])[0]


def load_along(
    names: list[str], along: list[str]
) -> tuple[dict[str, Fetched[Any]], dict[str, Any] | None]:
    """load_many(names), and the values found of the plain keys `along` when the entries
    took a round trip to the shared cache anyway (read in the same one); None when they did
    not: the caller reads them itself if it needs them."""
    found = {}
    for name in names:
        entry = recalled(name)
        if entry is not None:
            found[name] = entry
    missing = [name for name in names if name not in found]
    if not missing:
        return found, None
    values = cache.get_many([*missing, *along])
    for name in missing:
        value = values.get(name)
        if isinstance(value, Fetched):
            found[name] = value
            _remember(name, value)
    return found, {name: values[name] for name in along if name in values}


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


def moved_reads_epoch() -> None:
    """Upstream was read again and stored: answers learned from what was known before lapse
    in every process (dashboard/quick_polls.py), in this one at once."""
    global _epoch_known
    moved = secrets.token_hex(8)
    _moved_here.set(moved)
    _epoch_known = moved
    hot.put(_READS_EPOCH_SEEN, moved, READS_EPOCH_MEMORY_SECONDS)
    try:
        cache.set(READS_EPOCH_KEY, moved, None)
    except Exception:  # the others then learn of it as their answers lapse
        logger.warning("Moving the shared reads epoch failed.", exc_info=True)


def reads_epoch() -> str:
    """A token that moves whenever any process stores a new upstream read (read from the
    shared cache at most every READS_EPOCH_MEMORY_SECONDS; "" while it cannot be read)."""
    return hot.remembered(_READS_EPOCH_SEEN, _read_reads_epoch, READS_EPOCH_MEMORY_SECONDS)


def forget_own_reads() -> None:
    """From here on, epoch_of_answer knows only of reads this context stores from now."""
    _moved_here.set("")


def epoch_of_answer(began: str) -> str:
    """The epoch an answer worked out since forget_own_reads holds the state of: `began`
    (read before it), or the newer one when the one read stored since was this context's
    own, so the answer shows it."""
    own = _moved_here.get()
    return own if own and own == reads_epoch() else began


def _read_reads_epoch() -> str:
    global _epoch_known
    try:
        current = str(cache.get(READS_EPOCH_KEY) or "")
    except Exception:
        return ""
    if current != _epoch_known:
        # Another process stored a newer read: this process's copies of entries (hot.py)
        # may be older than the shared cache's, and an answer worked out from them now
        # would be learned under the new epoch (quick_polls.py) and outlive them.
        _epoch_known = current
        hot.forget_prefix(PREFIX)
    return current


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
