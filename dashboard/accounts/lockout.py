"""Locking out a username or an address after repeated failed logins (Django's cache).

A username is locked after LOGIN_FAILURE_LIMIT failures within LOGIN_FAILURE_WINDOW seconds;
an address after LOGIN_FAILURE_LIMIT_PER_IP (higher: offices share one address). A lock
lasts LOGIN_LOCKOUT_SECONDS and refuses even the right password. A successful login clears
the username's count; the address count runs out on its own, so one valid account cannot
reset it between guesses at others.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from dashboard.counters import bump


@dataclass(frozen=True)
class Lock:
    until: float

    @property
    def minutes_left(self) -> int:
        return max(1, -(-int(self.until - time.time()) // 60))


def _key(kind: str, value: str, scope: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-{kind}:{scope}:{digest}"


def _subjects(username: str, ip: str | None) -> list[tuple[str, str, int]]:
    subjects = [("user", username, settings.LOGIN_FAILURE_LIMIT)]
    if ip:
        subjects.append(("ip", ip, settings.LOGIN_FAILURE_LIMIT_PER_IP))
    return subjects


def current_lock(username: str, ip: str | None) -> Lock | None:
    """The lock that refuses this login attempt now, if any."""
    for scope, value, _limit in _subjects(username, ip):
        until = cache.get(_key("lock", value, scope))
        if until and until > time.time():
            return Lock(until)
    return None


def record_failure(username: str, ip: str | None) -> Lock | None:
    """Count one failed login; returns the lock if this failure set one."""
    lock = None
    for scope, value, limit in _subjects(username, ip):
        key = _key("failures", value, scope)
        failures = bump(key, settings.LOGIN_FAILURE_WINDOW)
        if failures >= limit:
            until = time.time() + settings.LOGIN_LOCKOUT_SECONDS
            cache.set(_key("lock", value, scope), until, timeout=settings.LOGIN_LOCKOUT_SECONDS)
            cache.delete(key)
            lock = Lock(until)
    return lock


def record_success(username: str) -> None:
    cache.delete(_key("failures", username, "user"))
