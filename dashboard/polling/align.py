"""Polls timed to land just after the next refresh of live data.

Live data is read upstream at the pace (budget.py), at most once every `live_max_age`
seconds, and every viewer's element polls every interval from its own moment: a change waited
for the refresh, then for that viewer's next poll, up to a whole interval more. So an answer
that swaps a live element in (the detail panel, the list's live rows) also says when the next
refresh is due: its hx-trigger holds `load delay:NNNNNms`, written into each answer as it is
sent (by Django, AlignedPollsMiddleware, and by the wrapper that repeats Django's answers,
dashboard/quick_polls.py), so the new element polls once more just after that refresh,
whenever its viewer got the answer. `every` stays the regular poll (for a refresh put off or
a read that failed). Each answer adds its own few hundred milliseconds (AFTER_MS), so that
hundreds of viewers' polls do not all arrive in the same instant.

The delay has five digits whatever its value, so an answer keeps its length (Content-Length,
a body replayed as it was stored).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from dashboard import hot

from . import store

TRIGGER = ", load delay:00000ms"  # what templates add to a live element's hx-trigger
# Only inside an hx-trigger attribute the templates wrote: upstream text on the page (a failed
# row's reason, the raw JSON) has its quotes escaped, so it can never match and be rewritten.
_DELAY = re.compile(rb'(hx-trigger="every [^"<>]*?load delay:)\d{5}(ms")')
_MARK = b"load delay:"
# Derivable from the newest page's entry (its fetched_at), but that is a whole page to
# unpickle; this is one number, read on every poll answered in front of Django.
DUE_KEY = store.key("refresh-due")
_DUE_SEEN = "polling:refresh-due"  # in hot.py's memory
AFTER_MS = (100, 1300)  # after the refresh is due: it is made by the first poll that finds it due
# A refresh overdue by more than this is being put off (the pace, the budget, a failing
# upstream): no early poll, the regular one comes.
OVERDUE_SECONDS = 1.0
NEVER_MS = 99_999  # the largest five digits: no early poll within an element's life
# From the moment the next refresh is due until it is stored (or this long), polls go to
# Django, which makes it or waits for it (quick_polls.py): an answer learned before would
# tell an early poll "unchanged" until its memory lapsed.
DUE_SECONDS = 0.5

logger = logging.getLogger(__name__)


def note_refresh_due(moment: float) -> None:
    """The newest page was just read: its next refresh is due at `moment` (epoch seconds)."""
    hot.put(_DUE_SEEN, moment, store.READS_EPOCH_MEMORY_SECONDS)
    try:
        cache.set(DUE_KEY, moment, store.KEEP_SECONDS)
    except Exception:  # the regular polls still come
        logger.warning("Storing the next refresh's moment failed.", exc_info=True)


def refresh_due() -> float | None:
    """When the newest page is next due to be read (epoch seconds), None when unknown."""
    return hot.remembered(_DUE_SEEN, _read_due, store.READS_EPOCH_MEMORY_SECONDS)


def refresh_is_due(now: float | None = None) -> bool:
    """The newest page's next read is due and not stored yet (for at most DUE_SECONDS)."""
    due = refresh_due()
    return due is not None and due <= (store.now() if now is None else now) < due + DUE_SECONDS


def delay_ms(now: float | None = None) -> int:
    """Milliseconds from now until just after the next refresh (NEVER_MS: no early poll)."""
    due = refresh_due()
    if due is None:
        return NEVER_MS
    left = due - (store.now() if now is None else now)
    if not -OVERDUE_SECONDS <= left <= (NEVER_MS - AFTER_MS[1]) / 1000:
        return NEVER_MS
    return max(0, round(left * 1000)) + random.randint(*AFTER_MS)


def retime(body: bytes, now: float | None = None) -> bytes:
    """The answer with its elements' early poll timed from now."""
    if _MARK not in body:
        return body
    digits = b"%05d" % delay_ms(now)
    # A function, not a template: a template with new digits each time is parsed each time.
    return _DELAY.sub(lambda found: found[1] + digits + found[2], body)


class AlignedPollsMiddleware:
    """Times the early poll of every live element in Django's answers (pages and polls)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.streaming and _MARK in response.content:
            response.content = retime(response.content)
        return response


def _read_due() -> float | None:
    try:
        found = cache.get(DUE_KEY)
    except Exception:  # the shared cache is down: no early poll
        return None
    return float(found) if isinstance(found, int | float) else None
