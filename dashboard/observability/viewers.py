"""Active viewers: distinct sessions seen recently, counted in the shared cache.

Sessions are counted per one-minute window (`cache.add` deduplicates a session within a
window, `cache.incr` counts it), and the gauge reports the larger of the current and the
previous window, so it neither drops to zero at each minute boundary nor counts a viewer
twice. Session keys are hashed: the cache never holds a usable session id.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from dashboard.counters import bump

WINDOW_SECONDS = 60
_PREFIX = "observability:viewers"

# The sessions this process already counted in the current window: a panel polling every
# few seconds then costs no cache round trip per poll, only one per session, window and
# process. (A set's add and membership test are atomic; a lost race only repeats the
# `cache.add`, which the cache deduplicates anyway. A cache emptied mid-window undercounts
# until the next window.)
_counted: tuple[int, set[str]] = (-1, set())


def _window(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // WINDOW_SECONDS)


def seen(session_key: str, now: float | None = None) -> None:
    """Count this session once in the current window."""
    global _counted
    window = _window(now)
    digest = hashlib.sha256(session_key.encode()).hexdigest()[:24]
    counted_window, counted = _counted
    if counted_window != window:
        counted = set()
        _counted = (window, counted)
    elif digest in counted:
        return
    ttl = WINDOW_SECONDS * 3
    if cache.add(f"{_PREFIX}:{window}:{digest}", 1, ttl):
        bump(f"{_PREFIX}:{window}", ttl)
    counted.add(digest)  # only once the cache has it: a cache outage is retried next poll


def active(now: float | None = None) -> int:
    window = _window(now)
    counts = cache.get_many([f"{_PREFIX}:{window}", f"{_PREFIX}:{window - 1}"])
    return max((int(value) for value in counts.values()), default=0)
