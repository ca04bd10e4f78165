"""Counters in Django's cache, shared by every process (Redis) or thread (local memory)."""

from __future__ import annotations

from django.core.cache import cache


def bump(key: str, ttl: float) -> int:
    """Add one to the counter `key` (created with `ttl` seconds to live); the new value."""
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: start it again
        cache.set(key, 1, ttl)
        return 1
