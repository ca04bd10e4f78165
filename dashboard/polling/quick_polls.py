"""Unchanged polls answered in front of Django, from what Django itself just answered.

Why: with hundreds of viewers nearly every request is an htmx poll whose answer is 204 (the
element's fingerprint `v` still matches, dashboard/actions/poll_versions.py). Django already
answers those without SQL or a round trip, but its middleware stack alone (sessions, auth,
URL resolving, CSP, messages, metrics) costs a few milliseconds of CPU each, which is what
limits how many viewers two cores serve. This WSGI wrapper answers such a poll itself when
this process's Django, within POLL_MEMORY_SECONDS (the memory of dashboard/hot.py):
  (a) answered 204 "unchanged" to the same address (host, path and query, which carries `v`),
      so the answer is known unchanged until that memory lapses, as for hot.py's entries; and
  (b) let an authenticated, active, permitted user through on the same session cookie (the
      view that answered 204 only runs behind login and permission checks).
Anything else (another method, not an htmx poll, an address or a session Django did not just
see) goes to Django untouched: an anonymous or ended session still gets its 401. The 204
repeats the headers Django's own 204 carried (CSP, X-Frame-Options, nosniff, ...) with a new
request id, and is counted in the request metrics. A logout, a role change or a deactivation
in this process forgets everything at once (dashboard/accounts/backends.py); one made in
another process counts within POLL_MEMORY_SECONDS, as for the sessions and users in hot.py.
POLL_MEMORY_SECONDS=0 (the test settings) turns this off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from dashboard import hot
from dashboard.observability import metrics
from dashboard.observability.logging import REQUEST_ID_HEADER, request_id_for

# What a view that answered "unchanged" leaves in the WSGI environ (Django's request.META is
# the environ itself): the session it let through and the view's name, for the metrics.
MARK = "dashboard.unchanged_poll"
_PREFIX = "quick-polls:"
_ANSWER = _PREFIX + "answer:"
_SESSION = _PREFIX + "session:"
# Made anew for each answer (the server adds Date; Django set any cookie for its own request).
_NOT_REPLAYED = frozenset({"set-cookie", "date", REQUEST_ID_HEADER.lower()})
_ADDRESS_PARTS = ("wsgi.url_scheme", "HTTP_X_FORWARDED_PROTO", "HTTP_HOST", "SCRIPT_NAME",
                  "PATH_INFO", "QUERY_STRING")


def mark_unchanged(request: HttpRequest) -> None:
    """Called by a poll view answering 204 unchanged, after its login and permission checks."""
    session = getattr(request, "session", None)
    match = request.resolver_match
    request.META[MARK] = (session.session_key if session is not None else None,
                          match.view_name if match is not None else "unmatched")


_forgotten = 0  # how many times everything was forgotten: requests begun before are not kept


def forget_everything() -> None:
    """A logout, or a user's or a group's roles or state changed: no quick answers until
    Django has seen each session again."""
    global _forgotten
    _forgotten += 1
    hot.forget_prefix(_PREFIX)


class QuickPolls:
    """WSGI middleware around Django's application (dashboard/wsgi.py)."""

    def __init__(self, application: Callable) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_HX_REQUEST") != "true"
                or hot.seconds() <= 0):
            return self.application(environ, start_response)
        started = time.perf_counter()
        address = _address(environ)
        session = _session_cookie(environ)
        known = hot.get(_ANSWER + address)
        if known is not None and session and hot.get(_SESSION + session):
            headers, view = known
            request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            start_response("204 No Content", [*headers, (REQUEST_ID_HEADER, request_id)])
            metrics.observe_request(view, "GET", 204, time.perf_counter() - started, poll=True)
            return []
        return self._through_django(environ, start_response, address, session)

    def _through_django(self, environ: dict, start_response: Callable, address: str,
                        session: str | None) -> Iterable[bytes]:
        begun = _forgotten

        def remembering(status: str, headers: list, exc_info=None):
            mark = environ.get(MARK)
            if (status.startswith("204") and mark is not None and session
                    and mark[0] == session and begun == _forgotten):
                kept = [(name, value) for name, value in headers
                        if name.lower() not in _NOT_REPLAYED]
                hot.put(_ANSWER + address, (kept, mark[1]))
                hot.put(_SESSION + session, True)
            return start_response(status, headers, exc_info)

        return self.application(environ, remembering)


def _address(environ: dict) -> str:
    return "\0".join(environ.get(part) or "" for part in _ADDRESS_PARTS)


def _session_cookie(environ: dict) -> str | None:
    """The session key as Django reads it from the Cookie header."""
    raw = environ.get("HTTP_COOKIE")
    return parse_cookie(raw).get(settings.SESSION_COOKIE_NAME) if raw else None
