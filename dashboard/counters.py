"""Counters in Django's cache, shared by every process (Redis) or thread (local memory)."""

from __future__ import annotations

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache


def bump(key: str, ttl: float, by: int = 1, *, backend: BaseCache | None = None,
         version: int | None = None) -> int:
    """Add `by` to the counter `key` (created with `ttl` seconds to live); the new value."""
    backend = cache if backend is None else backend
    if backend.add(key, by, ttl, version=version):
        return by
    try:
        return backend.incr(key, by, version=version)
    except ValueError:  # expired between add and incr: start it again
        backend.set(key, by, ttl, version=version)
        return by
