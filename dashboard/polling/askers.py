"""Who asks for an upstream call, and for what: the budget gives each a fair share.

A request's asker is set by `AskerMiddleware` (the person, or their session, and whether
the request is a page load or an htmx poll); commands say `asking(purpose=SYNC)`. Calls made
with no asker set (tests calling the layer, a shell) are paid from the shared budget only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse

PAGE = "page"  # a page a person opened
POLL = "poll"  # an htmx fragment: live rows, an open panel's refresh
SYNC = "sync"  # background work: the archive backfill, commands, watchers
PURPOSES = (PAGE, POLL, SYNC)


@dataclass(frozen=True)
class Asker:
    person: str | None  # a digest of the user id or session (never the id itself), or None
    purpose: str | None


NOBODY = Asker(None, None)
_asker: ContextVar[Asker] = ContextVar("upstream_asker", default=NOBODY)


def current() -> Asker:
    return _asker.get()


@contextmanager
def asking(*, person: str | None = None, purpose: str | None = None) -> Iterator[None]:
    """Calls made inside are counted against `person`'s and `purpose`'s shares."""
    if purpose is not None and purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}.")
    token = _asker.set(Asker(person, purpose))
    try:
        yield
    finally:
        _asker.reset(token)


def person_of(request: HttpRequest) -> str | None:
    """Who is asking: the logged-in user, else the session, else the address."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is not None and user.is_authenticated:
        who = f"user:{user.pk}"
    elif session is not None and session.session_key:
        who = f"session:{session.session_key}"
    elif request.META.get("REMOTE_ADDR"):
        who = f"address:{request.META['REMOTE_ADDR']}"
    else:
        return None
    return hashlib.sha256(who.encode()).hexdigest()[:24]


def purpose_of(request: HttpRequest) -> str:
    return POLL if request.headers.get("HX-Request") == "true" else PAGE


class AskerMiddleware:
    """Sets the asker for the request's upstream calls (after authentication)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with asking(person=person_of(request), purpose=purpose_of(request)):
            return self.get_response(request)
