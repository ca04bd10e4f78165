"""Counters in Django's cache, shared by every process (Redis) or thread (local memory)."""

from __future__ import annotations

from django.core.cache import cache

from dashboard import sharedcache


def bump(key: str, ttl: float | None, by: int = 1) -> int:
    """Add `by` to the counter `key` (created with `ttl` seconds to live; None: for good); the
    new value. One round trip on Redis."""
    counts, _ = sharedcache.bump_and_get_many(cache, [key], ttl, [], by)
    return counts[0]
