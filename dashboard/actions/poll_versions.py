"""Answering a poll whose answer would not change without rendering it.

A poll's address carries `v`, a fingerprint of what the element it replaces shows: the
actions as read from upstream and whatever else the answer depends on (the poll interval,
the viewer's permissions, the query). When the fingerprint of what would be rendered now is
the same, the answer is 204 No Content: htmx swaps nothing and the element keeps polling on
its timer. Actions served fresh get a fingerprint (`version`); a stale list is always
rendered, a stale panel (its notice tells its age and why) gets one for the second its
notice names (`stale_version`): while a result waits for its call or the upstream fails, its
viewers do not each get a render of their own. A panel's finished action gets one once read
for good (`final_version`): its last answer, the 286 that ends the polling, is then shared
by its viewers as well; the list's rows may be running or finished (`finished_too`).

The texts worked out from the clock alone ("running for", "about N left") are redrawn with
the next change of the action; `<time>` elements keep counting in the browser (app.js).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseStopPolling

from dashboard import hot
from dashboard.polling import store
from dashboard.polling.store import Fetched
from dashboard.voucherify.models import Action

logger = logging.getLogger(__name__)

VERSION_PARAM = "v"
RENDER_SECONDS = 30
# What a poll view leaves in the WSGI environ (Django's request.META is the environ itself)
# beside an answer every viewer of the same permissions gets for the address: the session it
# let through, their permissions (`audience`), the view's name for the metrics, and the
# fingerprint the answer shows. The WSGI wrapper in dashboard/quick_polls.py repeats such
# answers in front of Django a moment.
SHARED_ANSWER = "dashboard.shared_poll_answer"


def version(fetched: Iterable[Fetched[Action]], *depends_on: object,
            finished_too: bool = False) -> str | None:
    """The fingerprint of running, fresh actions and what else the answer depends on; None
    when any is stale, or finished unless `finished_too` (the list's rows: a finished row's
    list item is hashed like a running one's, its result being no part of it)."""
    digest = hashlib.blake2b(digest_size=8)
    for entry in fetched:
        if entry.stale or not (entry.value.is_live or finished_too):
            return None
        digest.update(json.dumps(entry.value.raw, sort_keys=True, default=str).encode())
        digest.update(b"\0")
    digest.update(json.dumps(depends_on, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def final_version(entry: Fetched[Action], *depends_on: object) -> str | None:
    """The fingerprint of a finished action read for good (its result, not a list item
    standing in for it): its last answer, the 286, is then the same for every viewer whose
    poll depends on the same things, and never changes. None while it is running or stale.
    The id and status name it: hashing a big result on every poll would cost what sharing
    saves."""
    if entry.stale or entry.value.is_live:
        return None
    named = [entry.value.id, entry.value.status, "final", *depends_on]
    return hashlib.blake2b(json.dumps(named, sort_keys=True, default=str).encode(),
                           digest_size=8).hexdigest()


def stale_version(entry: Fetched[Action], *depends_on: object) -> str | None:
    """The fingerprint of a panel served stale, for this second: what it shows, when it was
    read, why it is stale (the notice, with its "next call in about N s"), and the second its
    age is told at. None for a fresh entry."""
    if not entry.stale:
        return None
    named = [entry.value.raw, entry.fetched_at, type(entry.problem).__name__,
             str(entry.problem or ""), int(store.now()), "stale", *depends_on]
    return hashlib.blake2b(json.dumps(named, sort_keys=True, default=str).encode(),
                           digest_size=8).hexdigest()


def query_without(query: Mapping[str, str], *names: str) -> list[tuple[str, str]]:
    """The query's items (sorted) but the named ones and the version itself."""
    left_out = {VERSION_PARAM, *names}
    return sorted((name, value) for name, value in query.items() if name not in left_out)


def is_unchanged(query: Mapping[str, str], current: str | None) -> bool:
    return current is not None and query_version(query) == current


def unchanged(request: HttpRequest) -> HttpResponse:
    """Nothing to swap: htmx leaves the element (and its polling timer) as it is. The next
    polls of this address may be answered before Django (dashboard/quick_polls.py)."""
    _mark_shared(request, query_version(request.GET))
    return HttpResponse(status=204)


def shared_answer(request: HttpRequest, version: str, render: Callable[[], str],
                  *also: str, last: bool = False,
                  keep: Callable[[], bool] = lambda: True) -> HttpResponse:
    """The shared render as the poll's answer (`last`: a 286, which ends the polling); the
    next polls of this address may get it before Django (dashboard/quick_polls.py). A render
    `keep()` refuses once made (a finished action whose failed rows are still being stored)
    is this request's alone."""
    body, kept = _shared_render(version, render, also, keep)
    if kept:
        _mark_shared(request, version)
    return HttpResponseStopPolling(body) if last else HttpResponse(body)


def audience(user) -> str:
    """Who may be given the same answer: a digest of the user's permissions (what a poll
    answers depends on them, never on who the user is)."""
    granted = sorted(user.get_all_permissions()) if user.is_active else []
    return hashlib.blake2b(repr((user.is_superuser, granted)).encode(),
                           digest_size=8).hexdigest() + ":"


def query_version(query: Mapping[str, str]) -> str:
    """The fingerprint a poll says its element shows ("" for none)."""
    return query.get(VERSION_PARAM, "")


def _mark_shared(request: HttpRequest, version: str) -> None:
    """Called once the view's login and permission checks let the request through; `version`:
    the fingerprint of what the element shows after this answer."""
    session = getattr(request, "session", None)
    match = request.resolver_match
    request.META[SHARED_ANSWER] = (session.session_key if session is not None else None,
                                   audience(request.user),
                                   match.view_name if match is not None else "unmatched",
                                   version)


def shared_render(version: str, render: Callable[[], str], *also: str,
                  keep: Callable[[], bool] = lambda: True) -> str:
    """The answer rendered once for every viewer whose poll has this fingerprint (and `also`):
    the same running actions shown the same way are rendered once per change, not once per
    viewer. Kept RENDER_SECONDS in the shared cache: relative times in it count on in the
    browser anyway; in this process's memory only POLL_MEMORY_SECONDS, like all it holds
    (renders are its biggest entries, and every query asked makes one)."""
    return _shared_render(version, render, also, keep)[0]


def _shared_render(version: str, render: Callable[[], str], also: tuple[str, ...],
                   keep: Callable[[], bool]) -> tuple[str, bool]:
    key = "polls:render:" + ":".join((version, *also))
    found = hot.get(key)  # this process's memory first: a fingerprint's render never changes
    if isinstance(found, str):
        return found, True
    try:
        found = cache.get(key)
    except Exception:  # the cache being down costs a render, nothing more
        logger.warning("Reading a shared render failed.", exc_info=True)
        rendered = render()
        return rendered, keep()
    if isinstance(found, str):
        hot.put(key, found)
        return found, True
    rendered = render()
    if not keep():
        return rendered, False
    try:
        cache.set(key, rendered, RENDER_SECONDS)
    except Exception:
        logger.warning("Keeping a shared render failed.", exc_info=True)
    hot.put(key, rendered)
    return rendered, True
