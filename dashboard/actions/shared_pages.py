"""A whole page rendered once for every viewer of the same permissions, with what is the
requester's own filled in at answer time.

Why: when a running action finishes, every viewer opens the page of another one within
seconds, so the same detail page (same action, same data) was rendered through Django's
templates hundreds of times: two thirds of a warm page load's CPU. A page whose data has a
poll fingerprint (poll_versions.version: a running action read fresh, the interval, the
query) is now rendered once per fingerprint and kept as the polls' shared renders are
(poll_versions.shared_render), so it is never older than what a poll would show.

What may differ between two viewers of one fingerprint, and how each part is kept apart:
  - what their roles let them see (the panel's failed rows and raw JSON, the navigation's
    links): the render is kept per permission set (poll_versions.audience);
  - who they are (the name in the header, the id the live controls are kept under) and
    their CSRF token (the header's logout form, the meta tag htmx sends): rendered as slots,
    marks no upstream value can hold (derived from SECRET_KEY), filled for each request;
  - Django messages waiting for them: a request with any is rendered for itself alone;
  - the address's query (the panel's links keep it): part of the key, as received.
The user the template sees is a stand-in with only the slots and what the permission set
already decides, so a template that reaches for more of the user shows nothing rather than
one viewer's details to another (tests/test_shared_pages.py compares both renders).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import get_script_prefix
from django.utils.crypto import salted_hmac
from django.utils.html import escape

from dashboard.actions.poll_versions import audience, shared_render

_SLOT_NAMES = ("csrf", "username", "id")


@dataclass(frozen=True)
class _StandIn:
    """The user as a shared page's template sees them (see the module's docstring)."""

    pk: str
    username: str
    is_superuser: bool  # part of the permission set the render is kept for
    is_authenticated: bool = True

    def get_username(self) -> str:
        return self.username


def can_share(request: HttpRequest) -> bool:
    """Whether this request's page may be the shared one: nothing of its own to show."""
    return not get_messages(request)


def answer(request: HttpRequest, version: str,
           render: Callable[[dict[str, object]], str]) -> HttpResponse:
    """The page for `version`, rendered once by `render(slots)` (the context entries standing
    in for the requester's own: merge them over the page's context) for every viewer of the
    same permissions and address, filled in with this request's own parts."""
    marks, user = _marks(), request.user
    slots = {"csrf_token": marks["csrf"], "messages": (),
             "user": _StandIn(pk=marks["id"], username=marks["username"],
                              is_superuser=user.is_superuser)}
    page = shared_render(version, lambda: render(slots), "page", _audience_key(request))
    own = {"csrf": get_token(request), "username": user.get_username(), "id": str(user.pk)}
    for name, mark in marks.items():
        page = page.replace(mark, escape(own[name]))
    return HttpResponse(page)


def _audience_key(request: HttpRequest) -> str:
    """Everything but the fingerprint the render depends on, in a key of fixed length (the
    query is the client's, of any length and characters): the permission set, the address's
    prefix and query, and the slots' marks (processes with another SECRET_KEY never share)."""
    parts = (audience(request.user), get_script_prefix(),
             request.META.get("QUERY_STRING", ""), _marks()["csrf"])
    return hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()


def _marks() -> dict[str, str]:
    return _marks_for(settings.SECRET_KEY)


@lru_cache(maxsize=2)
def _marks_for(secret: str) -> dict[str, str]:
    """Marks no upstream value can hold (it would need the secret key), the same in every
    process sharing the renders; letters and digits only, so escaping leaves them whole."""
    mark = salted_hmac(__name__, "slots", secret=secret).hexdigest()[:24]
    return {name: f"slot{mark}{name}end" for name in _SLOT_NAMES}
