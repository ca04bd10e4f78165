"""Locking out a username or an address after repeated failed logins.

A username is locked after LOGIN_FAILURE_LIMIT failures within LOGIN_FAILURE_WINDOW seconds;
an address after LOGIN_FAILURE_LIMIT_PER_IP (higher: offices share one address). A lock
lasts LOGIN_LOCKOUT_SECONDS and refuses even the right password. A successful login clears
the username's count; the address count runs out on its own, so one valid account cannot
reset it between guesses at others.

Counts and locks live in Django's cache, shared by every process through Redis. While Redis
cannot be reached (dashboard/sharedcache.py) they go to the database instead, so the
processes, each with only its own memory then, still count the same failures; locks set
then are honoured after Redis is back.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import F

from dashboard import sharedcache
from dashboard.accounts.models import LockoutEntry
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
    keys = [_key("lock", value, scope) for scope, value, _limit in _subjects(username, ip)]
    found = [cache.get(key) for key in keys]
    found += LockoutEntry.objects.filter(key__in=keys, expires_at__gt=time.time()).values_list(
        "value", flat=True)
    until = max((moment for moment in found if isinstance(moment, int | float)), default=0)
    return Lock(until) if until > time.time() else None


def record_failure(username: str, ip: str | None) -> Lock | None:
    """Count one failed login; returns the lock if this failure set one."""
    lock = None
    for scope, value, limit in _subjects(username, ip):
        key = _key("failures", value, scope)
        if _count(key, settings.LOGIN_FAILURE_WINDOW) >= limit:
            until = time.time() + settings.LOGIN_LOCKOUT_SECONDS
            _keep(_key("lock", value, scope), until, settings.LOGIN_LOCKOUT_SECONDS)
            _forget(key)
            lock = Lock(until)
    return lock


def record_success(username: str) -> None:
    _forget(_key("failures", username, "user"))


def _count(key: str, ttl: float) -> int:
    failures = bump(key, ttl)
    if not sharedcache.degraded():
        return failures
    now = time.time()
    LockoutEntry.objects.filter(expires_at__lte=now).delete()
    if LockoutEntry.objects.filter(key=key, expires_at__gt=now).update(value=F("value") + 1):
        return int(LockoutEntry.objects.get(key=key).value)
    LockoutEntry.objects.update_or_create(key=key, defaults={"value": 1, "expires_at": now + ttl})
    return 1


def _keep(key: str, value: float, ttl: float) -> None:
    cache.set(key, value, timeout=ttl)
    if sharedcache.degraded():
        LockoutEntry.objects.update_or_create(
            key=key, defaults={"value": value, "expires_at": time.time() + ttl})


def _forget(key: str) -> None:
    cache.delete(key)
    LockoutEntry.objects.filter(key=key).delete()
