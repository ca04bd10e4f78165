"""Cache counters: bump counts up from one, and starts again once the counter expired."""

from django.core.cache import cache

from dashboard.counters import bump


def test_bump_counts_from_one():
    cache.delete("test-counter")
    assert [bump("test-counter", 60) for _ in range(3)] == [1, 2, 3]


def test_bump_starts_again_after_the_counter_expired():
    cache.set("test-counter", 5, 60)
    cache.delete("test-counter")  # as if its time had run out
    assert bump("test-counter", 60) == 1
