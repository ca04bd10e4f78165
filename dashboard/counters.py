"""Counters in Django's cache, shared by every process (Redis) or thread (local memory)."""

from __future__ import annotations

from django.core.cache import cache


def bump(key: str, ttl: float, by: int = 1) -> int:
    """Add `by` to the counter `key` (created with `ttl` seconds to live); the new value."""
    if cache.add(key, by, ttl):
        return by
    try:
        return cache.incr(key, by)
    except ValueError:  # expired between add and incr: start it again
        cache.set(key, by, ttl)
        return by
