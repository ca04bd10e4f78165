"""The calls a piece of code makes to Django's default cache (with Redis, a round trip each)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.cache import caches

# Every method of a backend that reaches the cache server; the shared cache's own as well.
METHODS = ("get", "get_many", "set", "set_many", "add", "incr", "decr", "delete", "delete_many",
           "touch", "has_key", "get_or_set", "clear", "delete_if_equal", "bump_and_get_many")


@contextmanager
def cache_calls() -> Iterator[list[tuple[str, str]]]:
    """(method, first key) of each call this thread makes meanwhile. A call a backend makes
    inside another (local memory's get_many calls its own get per key) is not counted."""
    backend, calls = caches["default"], []
    inside = [False]

    def counted(method: str, real: Callable[..., object]) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            if inside[0]:
                return real(*args, **kwargs)
            first = args[0] if args else ""
            calls.append((method, str(first if not isinstance(first, list | dict) else
                                       sorted(first))[:100]))
            inside[0] = True
            try:
                return real(*args, **kwargs)
            finally:
                inside[0] = False
        return call

    patched = [method for method in METHODS if hasattr(backend, method)]
    for method in patched:
        setattr(backend, method, counted(method, getattr(backend, method)))
    try:
        yield calls
    finally:
        for method in patched:
            delattr(backend, method)
