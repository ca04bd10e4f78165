"""Whether the upstream is failing lately: any process's call that met it unavailable or
answering 5xx marks it for a minute, any successful call unmarks it. Polls are then spaced
out (reads.poll_interval) and the status page says so.

Unmarking is a round trip: a call skips it when the budget's read just before it (the one
round trip every call makes, budget.py) found no mark. A mark another process sets
meanwhile stays until the next successful call: as it would have, had that call ended first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache

from . import store

KEY = store.key("failing")
MARK_SECONDS = 60
# Whether the read before this context's call found the mark (None: no such read).
_seen: ContextVar[bool | None] = ContextVar("upstream_failing_seen", default=None)


def failing() -> bool:
    return cache.get(KEY) is not None


def saw(found: dict[str, object]) -> None:
    """What a read of KEY (with others, in one round trip) found, just before a call."""
    _seen.set(KEY in found)


@contextmanager
def one_call() -> Iterator[None]:
    """Around one upstream call: only a read made for it counts."""
    token = _seen.set(None)
    try:
        yield
    finally:
        _seen.reset(token)


def mark() -> None:
    cache.set(KEY, store.now(), MARK_SECONDS)


def unmark() -> None:
    if _seen.get() is not False:
        cache.delete(KEY)
