"""One upstream call per resource at a time, across threads and processes.

The first caller takes a lock with `cache.add()` (atomic in Redis and in local memory) and
makes the call; the others poll the cache until the result (or the caller's error) appears.
The lock has a short TTL so a caller that dies never blocks the resource for long, and the
wait is bounded: a waiter that gives up serves what is known instead. A live holder renews
it (kept_alive): a call slowed down by load past the TTL is never made a second time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.cache import cache

from dashboard import sharedcache
from dashboard.voucherify.errors import ShareExhaustedError, UnavailableError, VoucherifyError

from . import store

T = TypeVar("T")

_FIRST_PAUSE = 0.005
# How long a caller's error is kept for the others (economy.py decides how long it counts).
PROBLEM_SECONDS = 60
_LONGEST_PAUSE = 0.05


def lock_key(resource: str) -> str:
    return store.key("lock", resource)


def problem_key(resource: str) -> str:
    return store.key("problem", resource)


def run(
    resource: str,
    is_done: Callable[[], store.Fetched[Any] | None],
    call: Callable[[], store.Fetched[T]],
    *,
    lock_seconds: float,
    wait_seconds: float,
) -> store.Fetched[T]:
    """`call` once for everyone wanting `resource` now; `is_done` says whether someone has.

    `is_done` returns the fresh entry when one is already there (checked again under the
    lock, so a caller that lost the race does not repeat the call). Errors of the caller who
    made the call are handed to the waiters too.
    """
    started = store.now()
    deadline = time.monotonic() + wait_seconds
    pause = _FIRST_PAUSE
    token = uuid.uuid4().hex
    while True:
        ttl = max(1, int(lock_seconds + 0.999))
        if cache.add(lock_key(resource), token, ttl):
            try:
                done = is_done()
                if done is not None:
                    return done
                try:
                    with kept_alive(lock_key(resource), token, ttl):
                        return call()
                except ShareExhaustedError:
                    raise  # the caller's own share, not the resource's: others may still ask
                except VoucherifyError as error:
                    cache.set(problem_key(resource), (store.now(), error), PROBLEM_SECONDS)
                    raise
            finally:
                sharedcache.delete_if_equal(cache, lock_key(resource), token)
        done = is_done()
        if done is not None:
            return done
        problem = cache.get(problem_key(resource))
        if isinstance(problem, tuple) and problem[0] >= started:
            raise problem[1]
        if time.monotonic() >= deadline:
            raise UnavailableError(
                "Still waiting for another request's answer from Voucherify; try again shortly."
            )
        time.sleep(pause)
        pause = min(_LONGEST_PAUSE, pause * 1.5)


@contextmanager
def kept_alive(key: str, token: str, seconds: int) -> Iterator[None]:
    """Renew the lock `key`, while it is still `token`'s, every third of its `seconds`: a
    holder slowed down by load keeps it; one that dies stops renewing and the lock expires."""
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            if cache.get(key) != token or not cache.touch(key, seconds):
                return

    threading.Thread(target=renew, name=f"lock {key}", daemon=True).start()
    try:
        yield
    finally:
        stop.set()
