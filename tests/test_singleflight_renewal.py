"""A call that outlives its single-flight lock's TTL (a loaded machine: a big result's read
and archive) keeps the lock: a second caller waits for it instead of calling again."""

from __future__ import annotations

import threading
import time

from django.core.cache import cache

from dashboard.polling import singleflight, store

LOCK_SECONDS = 2
CALL_SECONDS = 3 * LOCK_SECONDS  # well past the TTL the lock was taken with


def test_a_slow_call_keeps_its_lock_and_is_made_once():
    cache.clear()
    resource = "renewal-test"
    name = store.key("renewal-test")
    calls: list[str] = []
    got_lock = threading.Event()

    def is_done():
        return store.load(name)

    def call(who: str):
        def run():
            calls.append(who)
            got_lock.set()
            time.sleep(CALL_SECONDS)
            return store.save(name, who)
        return run

    answers: dict[str, object] = {}

    def caller(who: str) -> None:
        answers[who] = singleflight.run(resource, is_done, call(who), lock_seconds=LOCK_SECONDS,
                                        wait_seconds=10 * CALL_SECONDS).value

    first = threading.Thread(target=caller, args=("first",))
    first.start()
    got_lock.wait()
    time.sleep(2 * LOCK_SECONDS)  # the lock's TTL has passed while the call runs
    second = threading.Thread(target=caller, args=("second",))
    second.start()
    first.join()
    second.join()
    assert calls == ["first"]
    assert answers == {"first": "first", "second": "first"}
    assert cache.get(singleflight.lock_key(resource)) is None  # released when done


def test_a_lock_whose_holder_stops_renewing_expires():
    cache.clear()
    key = singleflight.lock_key("renewal-expiry")
    assert cache.add(key, "token", LOCK_SECONDS)
    with singleflight.kept_alive(key, "token", LOCK_SECONDS):
        time.sleep(2 * LOCK_SECONDS)
        assert cache.get(key) == "token"  # renewed past its TTL
    time.sleep(2 * LOCK_SECONDS)
    assert cache.get(key) is None  # the holder stopped: nobody is blocked for long
