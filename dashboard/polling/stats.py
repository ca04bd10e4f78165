"""Counters for the status page: upstream calls by endpoint and status, cache hits and misses.

Per-second counters in the cache (shared by every process), summed over the last minute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.core.cache import cache

from dashboard import hot
from dashboard.counters import bump

from . import store

WINDOW_SECONDS = 60
COUNTER_TTL = 2 * WINDOW_SECONDS
KINDS_KEY = store.key("stats", "kinds")
# A kind this process put on the shared list lately is remembered (hot.py) this long: a call
# of a kind already there costs no read and write of the list. Put on again after it, so that
# a list lost with the cache (cleared, evicted, Redis restarted) or a row lost to a race is
# whole again within a minute; with the per-process memory off (the tests) every call checks.
KINDS_MEMORY_SECONDS = 60.0
_KIND_LISTED = hot.MEMO_PREFIX + "stats-kind-listed:"


@dataclass(frozen=True)
class CallCount:
    method: str
    endpoint: str
    status: str
    count: int


def _kind(method: str, endpoint: str, status: int | None) -> str:
    # No spaces: Django warns about cache keys memcached could not hold.
    return f"{method}|{endpoint}|{status if status is not None else 'none'}"


def record_call(method: str, endpoint: str, status: int | None, elapsed: float) -> None:
    """The client's on_response hook: count one upstream request."""
    kind = _kind(method, endpoint, status)
    if not hot.get(_KIND_LISTED + kind):
        kinds = cache.get(KINDS_KEY) or []
        if kind not in kinds:  # rare: a new endpoint/status pair; a lost race only hides a row
            cache.set(KINDS_KEY, sorted({*kinds, kind}), store.KEEP_SECONDS)
        hot.put(_KIND_LISTED + kind, True, KINDS_MEMORY_SECONDS)
    bump(store.key("stats", "call", kind, int(store.now())), COUNTER_TTL)


_pending_lock = threading.Lock()
_pending: dict[tuple[str, int], int] = {}  # (hit or miss, second) -> lookups not added yet
FLUSH_AFTER_SECONDS = 1.1  # past the end of the second the first pending lookup was in
_wake = threading.Event()  # set while lookups wait to be added
_flusher: threading.Thread | None = None


def record_lookup(hit: bool) -> None:
    """Count a poll served from the cache (hit) or not. With the per-process memory on
    (hot.py), counted here and added to the shared counters once the second is over, not
    with a round trip per poll."""
    kind, second = "hit" if hit else "miss", int(store.now())
    if hot.seconds() <= 0:
        bump(store.key("stats", kind, second), COUNTER_TTL)
        return
    with _pending_lock:
        _pending[(kind, second)] = _pending.get((kind, second), 0) + 1
    if not _wake.is_set():
        _start_flusher()
        _wake.set()
    flush_lookups()


def _start_flusher() -> None:
    """One thread per process adds an idle process's last seconds too, without waiting for a
    next poll (one long-lived thread: Django's cache connections are per thread)."""
    global _flusher
    with _pending_lock:
        if _flusher is None or not _flusher.is_alive():  # none yet, or lost in a fork
            _flusher = threading.Thread(target=_flush_while_pending, daemon=True,
                                        name="lookup-counters")
            _flusher.start()


def _flush_while_pending() -> None:
    while True:
        _wake.wait()
        time.sleep(FLUSH_AFTER_SECONDS)
        flush_lookups()
        with _pending_lock:
            if not _pending:
                _wake.clear()


def flush_lookups() -> None:
    """Add the lookups of seconds that are over to the shared counters."""
    second = int(store.now())
    with _pending_lock:
        over = [moment for moment in _pending if moment[1] < second]
        flush = {moment: _pending.pop(moment) for moment in over}
    for (kind, moment), count in flush.items():
        bump(store.key("stats", kind, moment), COUNTER_TTL, count)


def _last_minute(prefix: tuple[str, ...], now: float) -> int:
    current = int(now)
    names = [store.key(*prefix, second) for second in range(current - WINDOW_SECONDS + 1,
                                                              current + 1)]
    return sum(int(value) for value in cache.get_many(names).values())


def calls_last_minute(now: float | None = None) -> list[CallCount]:
    now = store.now() if now is None else now
    counts = []
    for kind in cache.get(KINDS_KEY) or []:
        count = _last_minute(("stats", "call", kind), now)
        if count:
            method, endpoint, status = kind.split("|", 2)
            counts.append(CallCount(method, endpoint, status, count))
    return counts


def lookups_last_minute(now: float | None = None) -> tuple[int, int]:
    """(hits, misses): polls served from the cache, and those that needed an upstream call."""
    now = store.now() if now is None else now
    return _last_minute(("stats", "hit"), now), _last_minute(("stats", "miss"), now)
