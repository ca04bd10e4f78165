"""A per-process memory in front of the shared cache, for what every poll reads (the polling
layer's fresh entries, and the session and user of dashboard/accounts).

Hundreds of viewers' polls ask each process for the same few things many times a second:
the running actions' entries, the poll interval, the shared renders. Each costs a Redis round
trip and an unpickle; kept here for a fraction of the poll interval (POLL_MEMORY_SECONDS) they
cost a dict lookup. What is kept is only ever served while it is still fresh by its own read
moment (store.py), so a decision to call upstream is always taken on the shared cache's
value, never on this memory's; a write in this process replaces its entry at once.
0 turns it off (the test settings: tests change the cache and expect to see it at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")

MAX_ENTRIES = 5000
# Expired entries are dropped this often (and whenever the memory is full), so that what is
# held is what the last moments read, not up to MAX_ENTRIES of old renders and sessions.
SWEEP_SECONDS = 1.0
_MISSING = object()
_lock = threading.Lock()
_entries: dict[str, tuple[float, Any]] = {}  # key -> (monotonic expiry, value)
_sweep_at = 0.0  # time.monotonic() of the next sweep


def seconds() -> float:
    return float(getattr(settings, "POLL_MEMORY_SECONDS", 0))


def get(key: str, default: Any = None) -> Any:
    found = _entries.get(key)  # a dict read is atomic under the GIL: no lock on the hot path
    if found is None or found[0] <= time.monotonic():
        return default
    return found[1]


def put(key: str, value: Any, keep: float | None = None) -> None:
    """Keep `value` for `keep` seconds (POLL_MEMORY_SECONDS by default; 0 keeps nothing)."""
    keep = seconds() if keep is None else keep
    if keep <= 0 or seconds() <= 0:
        return
    now = time.monotonic()
    with _lock:
        if len(_entries) >= MAX_ENTRIES or now >= _sweep_at:
            _evict(now)
        _entries[key] = (now + keep, value)


def forget(keys: Iterable[str]) -> None:
    with _lock:
        for key in keys:
            _entries.pop(key, None)


def forget_prefix(prefix: str) -> None:
    with _lock:
        for key in [key for key in _entries if key.startswith(prefix)]:
            del _entries[key]


# Keys of what a process remembers having done lately ("listed this kind", "wrote this
# outcome"), not copies of the shared cache: clear(memos=False) keeps them.
MEMO_PREFIX = "memo:"


def clear(*, memos: bool = True) -> None:
    """Forget everything; `memos=False`: only the copies of the shared cache (what a flush of
    the cache leaves a running process remembering)."""
    global _sweep_at
    with _lock:
        if memos:
            _entries.clear()
        else:
            for key in [key for key in _entries if not key.startswith(MEMO_PREFIX)]:
                del _entries[key]
        _sweep_at = 0.0


def remembered(key: str, compute: Callable[[], T], keep: float | None = None) -> T:
    """`compute()`, kept here for `keep` seconds (a few threads may compute it at once)."""
    found = get(key, _MISSING)
    if found is not _MISSING:
        return found
    value = compute()
    put(key, value, keep)
    return value


def _evict(now: float) -> None:
    """Drop the expired entries; if that leaves the memory more than three quarters full, the
    oldest half too, so that a full memory is not scanned again at the next put (locked)."""
    global _sweep_at
    _sweep_at = now + SWEEP_SECONDS
    for key in [key for key, (expiry, _) in _entries.items() if expiry <= now]:
        del _entries[key]
    if len(_entries) > MAX_ENTRIES * 3 // 4:
        for key in list(_entries)[: len(_entries) // 2]:
            del _entries[key]
