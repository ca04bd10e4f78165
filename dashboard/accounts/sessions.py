"""Sessions kept a moment in each process's memory, so a poll reads no session from Redis.

Django's cached_db sessions cost every request a Redis round trip and an unpickle, and polls
are nearly every request. This store keeps what it read in the per-process poll memory
(dashboard/hot.py) for POLL_MEMORY_SECONDS at most (0 turns it off), and hands each
request its own copy. A save in this process replaces it and a deletion forgets it at once; a
logout, an idle expiry or a flush seen by another process only reaches this one when the
memory ends, so that is the bound on how late either counts here (half a second by default).

While Redis cannot be reached, sessions are read from the database: each process's stand-in
memory (dashboard/sharedcache.py) would keep serving a session that another process ended.
"""

from __future__ import annotations

from django.contrib.sessions.backends import cached_db, db

from dashboard import hot, sharedcache
from dashboard.accounts.backends import forget_sessions


class SessionStore(cached_db.SessionStore):
    cache_key_prefix = cached_db.KEY_PREFIX

    def load(self) -> dict:
        key = self._memory_key()
        if key is not None:
            found = hot.get(key)
            if found is not None:
                return dict(found)
        data = db.SessionStore.load(self) if sharedcache.degraded() else super().load()
        if data and self._memory_key() is not None:
            hot.put(self._memory_key(), dict(data))
        return data

    def save(self, must_create: bool = False) -> None:
        self._forget()
        super().save(must_create)
        if self._session:  # what was just written is what this process's next poll reads
            hot.put(self._memory_key(), dict(self._session))

    def delete(self, session_key: str | None = None) -> None:
        forget_sessions()
        hot.forget([self.cache_key_prefix + (session_key or self.session_key or "")])
        super().delete(session_key)

    def _memory_key(self) -> str | None:
        # Only a key that was handed in and is well formed: never make one just to look it up.
        return self.cache_key_prefix + self.session_key if self.session_key else None

    def _forget(self) -> None:
        key = self._memory_key()
        if key is not None:
            hot.forget([key])
