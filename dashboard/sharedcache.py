"""The shared cache (Redis), with a per-process fallback while Redis cannot be reached.

Everything that keeps state in Django's cache (the polling layer's budget and reads, the
counters, the login lockout, the viewer count) goes through this backend, so a stopped or
unreachable Redis degrades the dashboard instead of failing every request: each process
keeps working from its own local memory (and the database archive), the polling budget
shrinks to VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE per process (dashboard/polling/budget.py),
and /readyz reports the cache as failing. The outage is logged once when it starts and once
when it ends; Redis is tried again every RETRY_SECONDS, and used again as soon as it answers.

What Redis still holds from before the outage must not outlive a deletion made meanwhile (a
logout's session, a dropped user): the keys deleted during the outage are deleted on Redis
first when it answers again, and the local memory is emptied then, so that a later outage
starts from nothing rather than from what this one left.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ClusterDownError, NoPermissionError, OutOfMemoryError, ReadOnlyError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# While Redis is down, one call in this many seconds tries it again: a Redis that does not
# answer costs each of those calls socket_connect_timeout, not every request.
RETRY_SECONDS = 5.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# A Redis that answers but cannot serve (full with noeviction, a replica after a failover,
# snapshots failing, a cluster or an ACL that refuses) is as good as away: an error about
# the command itself (a wrong type) is still raised.
_REFUSING = (OutOfMemoryError, ReadOnlyError, ClusterDownError, NoPermissionError)
_REFUSING_PREFIXES = ("MISCONF", "LOADING", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN")


def _cannot_serve(error: BaseException) -> bool:
    if isinstance(error, _UNREACHABLE + _REFUSING):
        return True
    return isinstance(error, RedisResponseError) and str(error).startswith(_REFUSING_PREFIXES)
_LOCAL_LOCATION = "dashboard-sharedcache-fallback"
# Deletions kept for Redis during one outage (logouts, dropped users); beyond, the rest are lost.
MAX_PENDING_DELETES = 10000


class _Outage:
    """Whether this process currently works without Redis (one per process, for all threads:
    Django makes a cache backend per thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None  # time.time() the outage was noticed
        self.retry_at = 0.0  # time.monotonic() of the next try
        self.deleted: dict[tuple[str, int | None], None] = {}  # (key, version), for Redis later

    def should_try(self) -> bool:
        with self._lock:
            if self.since is None:
                return True
            if time.monotonic() < self.retry_at:
                return False
            self.retry_at = time.monotonic() + RETRY_SECONDS  # this caller probes, others wait
            return True

    def failed(self, location: str, error: BaseException) -> None:
        with self._lock:
            self.retry_at = time.monotonic() + RETRY_SECONDS
            if self.since is not None:
                return
            self.since = time.time()
        logger.error(
            "The shared cache at %s cannot be reached (%s); this process serves from its own "
            "memory and a smaller budget of upstream calls until it answers again.",
            location, type(error).__name__,
        )

    def answered(self, location: str) -> bool:
        """Whether this answer ended an outage."""
        if self.since is None:  # the common case: no lock taken
            return False
        with self._lock:
            if self.since is None:
                return False
            lasted, self.since = time.time() - self.since, None
        logger.warning("The shared cache at %s answers again after %.0f s.", location, lasted)
        return True

    def deleting(self, keys: Any, version: int | None) -> None:
        with self._lock:
            for key in keys:
                if len(self.deleted) < MAX_PENDING_DELETES:
                    self.deleted[(key, version)] = None

    def take_deleted(self) -> dict[int | None, list[str]]:
        with self._lock:
            taken, self.deleted = self.deleted, {}
        by_version: dict[int | None, list[str]] = {}
        for key, version in taken:
            by_version.setdefault(version, []).append(key)
        return by_version


_outage = _Outage()


def degraded() -> bool:
    """True while this process works without the shared cache."""
    return _outage.since is not None


# Deletes KEYS[1] only while it holds ARGV[1]: the check and the delete, atomic, in one trip.
_DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def delete_if_equal(backend: BaseCache, key: str, value: Any) -> bool:
    """Delete `key` while it holds `value` (a lock let go by its holder, never another's).
    One atomic round trip on the shared cache (Redis); a get and a delete on other backends."""
    own = getattr(backend, "delete_if_equal", None)
    if own is not None:
        return bool(own(key, value))
    return backend.get(key) == value and bool(backend.delete(key))


# Adds ARGV[1] to each of the first ARGV[3] keys (a counter made now lives ARGV[2] ms, or for
# good when that is negative), then reads the rest: their new values, then what was read.
_BUMP_AND_GET_MANY = """
local by, ttl, counters = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 1, counters do
  out[i] = redis.call('incrby', KEYS[i], by)
  if out[i] == by and ttl >= 0 then redis.call('pexpire', KEYS[i], ttl) end
end
if #KEYS > counters then
  for i, value in ipairs(redis.call('mget', unpack(KEYS, counters + 1))) do
    out[counters + i] = value
  end
end
return out
"""


def bump_and_get_many(backend: BaseCache, counters: list[str], ttl: float | None,
                      keys: list[str], by: int = 1) -> tuple[list[int], dict[str, Any]]:
    """Add `by` to each of `counters` (each made with `ttl` seconds to live; None: for good),
    then get_many `keys`: the counters' new values and what was found. One round trip on the
    shared cache (Redis); a command or a few each on other backends."""
    own = getattr(backend, "bump_and_get_many", None)
    if own is not None:
        return own(counters, ttl, keys, by)
    return _bump_then_get_many(backend, counters, ttl, keys, by)


def _bump_then_get_many(backend: BaseCache, counters: list[str], ttl: float | None,
                        keys: list[str], by: int, version: int | None = None
                        ) -> tuple[list[int], dict[str, Any]]:
    counts = []
    for counter in counters:
        if backend.add(counter, by, ttl, version=version):
            counts.append(by)
            continue
        try:
            counts.append(backend.incr(counter, by, version=version))
        except ValueError:  # expired between add and incr: start it again
            backend.set(counter, by, ttl, version=version)
            counts.append(by)
    return counts, (backend.get_many(keys, version=version) if keys else {})


class _OneClientPerPool(RedisCacheClient):
    """Django's client makes a new redis.Redis for every command, and each sets up its
    hundreds of response callbacks: about half a millisecond of CPU per cache call. One per
    connection pool (thread-safe: a command takes a connection from the pool) costs it once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def delete_if_equal(self, key: str, value: Any) -> bool:
        client = self.get_client(key, write=True)
        # Compared as stored: the value pickled as add() and set() pickled it.
        return bool(client.eval(_DELETE_IF_EQUAL, 1, key, self._serializer.dumps(value)))

    def bump_and_get_many(self, counters: list[str], ttl: float | None, keys: dict[str, str],
                          by: int) -> tuple[list[int], dict[str, Any]]:
        """`keys`: the names to read, as stored, to the caller's."""
        client = self.get_client(write=True)
        expiry = -1 if ttl is None else max(1, int(ttl * 1000))
        values = client.eval(_BUMP_AND_GET_MANY, len(counters) + len(keys), *counters, *keys,
                             by, expiry, len(counters))
        read = values[len(counters):]
        return values[:len(counters)], {keys[stored]: self._serializer.loads(value)
                                        for stored, value in zip(keys, read, strict=True)
                                        if value is not None}


def _runs_no_scripts(error: RedisResponseError) -> bool:
    """A Redis that refuses scripts (an ACL without @scripting, a proxy without EVAL)."""
    return isinstance(error, NoPermissionError) or "unknown command" in str(error).lower()


class _RedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _OneClientPerPool
        self._scripts = True  # False once Redis refused a script (an ACL without @scripting)

    def delete_if_equal(self, key: str, value: Any, version: int | None = None) -> bool:
        if self._scripts:
            try:
                return self._cache.delete_if_equal(
                    self.make_and_validate_key(key, version=version), value)
            except RedisResponseError as error:
                if not _runs_no_scripts(error):
                    raise
                self._scripts = False  # a get and a delete
        return self.get(key, version=version) == value and self.delete(key, version=version)

    def bump_and_get_many(self, counters: list[str], ttl: float | None, keys: list[str],
                          by: int = 1, version: int | None = None
                          ) -> tuple[list[int], dict[str, Any]]:
        if self._scripts:
            # make_key, not make_and_validate_key: a warning about keys memcached could not
            # hold reads every character of each (a budget reads two windows of 61 each).
            stored = {self.make_key(key, version=version): key for key in keys}
            try:
                return self._cache.bump_and_get_many(
                    [self.make_key(key, version=version) for key in counters], ttl, stored, by)
            except RedisResponseError as error:
                if not _runs_no_scripts(error):
                    raise
                self._scripts = False  # a command or a few each
        return _bump_then_get_many(self, counters, ttl, keys, by, version)


class LocalCache(LocMemCache):
    """Django's local-memory cache, with delete_if_equal as the shared cache has it (the
    backend without Redis, and the shared cache's fallback)."""

    def delete_if_equal(self, key: str, value: Any, version: int | None = None) -> bool:
        return self.get(key, version=version) == value and self.delete(key, version=version)

    def bump_and_get_many(self, counters: list[str], ttl: float | None, keys: list[str],
                          by: int = 1, version: int | None = None
                          ) -> tuple[list[int], dict[str, Any]]:
        return _bump_then_get_many(self, counters, ttl, keys, by, version)


class FailoverRedisCache(BaseCache):
    """Django's RedisCache, falling back to per-process local memory while Redis is down."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self._location = server
        self.primary = _RedisCache(server, params)
        local_options = {"MAX_ENTRIES": 20000}
        self.fallback = LocalCache(_LOCAL_LOCATION, {**params, "OPTIONS": local_options})

    def _use(self, method: str, *args: Any, deleting: Any = (), **kwargs: Any) -> Any:
        if _outage.should_try():
            try:
                if degraded():  # Redis may be back: the outage's deletions reach it first
                    self._delete_on_redis()
                result = getattr(self.primary, method)(*args, **kwargs)
            except Exception as error:
                if not _cannot_serve(error):
                    raise
                _outage.failed(self._location, error)
            else:
                if _outage.answered(self._location):
                    self.fallback.clear()
                    self._delete_on_redis()  # any made by other threads meanwhile
                return result
        if deleting:
            _outage.deleting(deleting, kwargs.get("version"))
        return getattr(self.fallback, method)(*args, **kwargs)

    def _delete_on_redis(self) -> None:
        pending = _outage.take_deleted()
        try:
            for version, keys in pending.items():
                self.primary.delete_many(keys, version=version)
        except Exception as error:
            if not _cannot_serve(error):
                raise
            for version, keys in pending.items():
                _outage.deleting(keys, version)
            raise

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._use("add", key, value, timeout=timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._use("get", key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._use("set", key, value, timeout=timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._use("touch", key, timeout=timeout, version=version)

    def delete(self, key, version=None):
        return self._use("delete", key, version=version, deleting=[key])

    def delete_if_equal(self, key: str, value: Any, version: int | None = None) -> bool:
        # Not kept for Redis during an outage as a delete is: whoever holds the key there now
        # is not this caller.
        return self._use("delete_if_equal", key, value, version=version)

    def get_many(self, keys, version=None):
        return self._use("get_many", keys, version=version)

    def bump_and_get_many(self, counters: list[str], ttl: float | None, keys: list[str],
                          by: int = 1, version: int | None = None
                          ) -> tuple[list[int], dict[str, Any]]:
        return self._use("bump_and_get_many", counters, ttl, keys, by, version=version)

    def has_key(self, key, version=None):
        return self._use("has_key", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._use("incr", key, delta, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._use("set_many", data, timeout=timeout, version=version)

    def delete_many(self, keys, version=None):
        keys = list(keys)
        return self._use("delete_many", keys, version=version, deleting=keys)

    def clear(self):
        self.fallback.clear()
        return self._use("clear")

    def close(self, **kwargs):
        self.primary.close(**kwargs)
