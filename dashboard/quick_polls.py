"""Polls answered in front of Django, from what Django itself just answered to the same poll.

Why: with hundreds of viewers nearly every request is an htmx poll, and most of them ask
what many others just asked: the same element showing the same fingerprint `v`
(dashboard/actions/poll_versions.py). Django answers those without SQL or a round trip, 204
when nothing changed or the render shared by every viewer of the change, but its middleware
stack alone (sessions, auth, URL resolving, CSP, messages, metrics) costs a few milliseconds
of CPU each, which is what limits how many viewers two cores serve. This WSGI wrapper repeats
such an answer itself when this process's Django, within POLL_MEMORY_SECONDS (the memory of
dashboard/hot.py):
  (a) gave it to the same address (host, path and query, which carries `v`) for a viewer of
      the same permissions, so the answer is known until that memory lapses, as for
      hot.py's entries and shared renders; and
  (b) let an authenticated, active, permitted user through on the same session cookie (the
      views mark only answers given behind their login and permission checks:
      poll_versions.SHARED_ANSWER). Once that has lapsed, the session is checked as Django's
      AuthenticationMiddleware would check it (the same session store and backend, through
      the same per-process memory), and its user's permissions must be those the answer was
      given for; at any doubt (no session, a hash that does not verify, an idle expiry due
      to be renewed) Django answers. Such a check is remembered until the renewal is due
      (SESSION_MEMORY_SECONDS at most) while the shared epoch can be read: a logout or role
      change anywhere moves it, and each process reads it every POLL_MEMORY_SECONDS.
Beyond the same address, an answer is repeated for the same element: the address but its `v`,
whose newest fingerprint Django named there within that memory. A poll whose `v` is that
fingerprint gets the 204 Django gave the element; one whose `v` is any other gets the answer
Django rendered for the newest (whatever older state a viewer's element shows, Django would
answer it with the same shared render). With progress moving, each viewer's next poll
carries a fingerprint of its own moment; per address, Django would see most of them.
Answers are learned under the reads epoch (polling/store.py), which every upstream read any
process stores moves: after a refresh lands, no answer learned from the older state is
repeated (each process reads the epoch at most every READS_EPOCH_MEMORY_SECONDS). From the
moment the newest page's next read is due until it is stored (polling/align.py), polls go to
Django, which makes it or waits for it. A repeated answer's early poll (`load delay`) is timed
anew from when it is sent.
Anything else (another method, not an htmx poll, an address or a session Django did not just
see) goes to Django untouched: an anonymous or ended session still gets its 401. Replayed are
the status (200, 204, or the 286 of a finished action), body and headers of Django's answer
(CSP, X-Frame-Options, nosniff, ...) with a new request id and without its cookies; each is
counted in the request metrics. A logout, a role change or a deactivation in this process
forgets everything at once (dashboard/accounts/backends.py's forget observers) and moves the
shared epoch; one made in another process counts within POLL_MEMORY_SECONDS, as for the
sessions and users in hot.py. POLL_MEMORY_SECONDS=0 (the test settings) turns this off.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.core.cache import cache
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare

from dashboard import hot, sharedcache
from dashboard.accounts.backends import add_forget_observer
from dashboard.accounts.middleware import renewal_due, renewal_in
from dashboard.actions.poll_versions import SHARED_ANSWER, VERSION_PARAM, audience
from dashboard.observability import metrics, viewers
from dashboard.observability.logging import REQUEST_ID_HEADER, request_id_for
from dashboard.polling import align, store

_PREFIX = "quick-polls:"
_ANSWER = _PREFIX + "answer:"
# Per audience and element: (the newest fingerprint Django named, the answer it rendered for
# it or None, the 204 it gave or None).
_ELEMENT = _PREFIX + "element:"
_SESSION = _PREFIX + "session:"
_VERSION_ITEM = VERSION_PARAM + "="
# Made anew for each answer (the server adds Date; Django set any cookie for its own request).
_NOT_REPLAYED = frozenset({"set-cookie", "date", REQUEST_ID_HEADER.lower()})
_ADDRESS_PARTS = ("wsgi.url_scheme", "HTTP_X_FORWARDED_PROTO", "HTTP_HOST", "SCRIPT_NAME",
                  "PATH_INFO", "QUERY_STRING")

# A session checked here is remembered this long at most (beyond POLL_MEMORY_SECONDS) while
# the shared epoch can be read: a logout or role change anywhere moves the epoch, and every
# process reads it at most POLL_MEMORY_SECONDS apart, so it still counts within that.
SESSION_MEMORY_SECONDS = 10.0
_EPOCH = "quick-polls-epoch"  # in the shared cache
_EPOCH_READ = "quick-polls-epoch-read"  # in hot.py's memory: not under _PREFIX, never forgotten

logger = logging.getLogger(__name__)
_forgotten = 0  # how many times everything was forgotten: requests begun before are not kept
_epoch_seen: str | None = None


def forget_everything() -> None:
    """A logout, or a user's or a group's roles or state changed: every answer and session
    is learned again."""
    global _forgotten
    _forgotten += 1
    hot.forget_prefix(_PREFIX)
    _move_epoch()  # the other processes forget their sessions within POLL_MEMORY_SECONDS


class QuickPolls:
    """WSGI middleware around Django's application (dashboard/wsgi.py)."""

    def __init__(self, application: Callable) -> None:
        self.application = application
        add_forget_observer(forget_everything)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_HX_REQUEST") != "true"
                # Back to an address htmx pushed: the whole page, never a panel's answer
                or environ.get("HTTP_HX_HISTORY_RESTORE_REQUEST") == "true"
                or hot.seconds() <= 0):
            return self.application(environ, start_response)
        started = time.perf_counter()
        address, element = _address(environ), _element(environ)
        session = _session_cookie(environ)
        # Answers are learned per reads epoch: one learned before a newer upstream read was
        # stored (by any process) would repeat the older state until its memory lapsed.
        reads = store.reads_epoch()
        who = _who(session) if session else None
        known = None
        # While the next refresh is due, Django makes it or waits for it: a learned answer
        # would say "unchanged" to the polls timed for just after it (polling/align.py).
        if who and not align.refresh_is_due():
            known = hot.get(_ANSWER + reads + ":" + who + address)
            if known is None and element is not None:
                known = _for_element(reads + ":" + who, element)
        if known is not None:
            status, headers, body, view = known
            request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
            start_response(status, [*headers, (REQUEST_ID_HEADER, request_id)])
            metrics.observe_request(view, "GET", int(status[:3]),
                                    time.perf_counter() - started, poll=True)
            # The early poll of the element it swaps in is timed from now (polling/align.py).
            return [align.retime(body)] if body else []
        return self._through_django(environ, start_response, address, element, session, reads)

    def _through_django(self, environ: dict, start_response: Callable, address: str,
                        element: tuple[str, str] | None, session: str | None, reads: str
                        ) -> Iterable[bytes]:
        begun, answered = _forgotten, []

        def noting(status: str, headers: list, exc_info=None):
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        store.forget_own_reads()
        result = self.application(environ, noting)
        mark = environ.get(SHARED_ANSWER)
        if not (mark is not None and session and mark[0] == session and answered
                and answered[0][:3] in ("200", "204", "286")):
            return result
        try:  # a marked answer is a plain HttpResponse: its body is already in memory
            body = b"".join(result)
        except BaseException:
            result.close()
            raise
        if begun == _forgotten:  # nobody logged out or lost a role meanwhile
            status, headers = answered
            kept = [(name, value) for name, value in headers if name.lower() not in _NOT_REPLAYED]
            # Under the epoch read before Django answered, unless the only read stored since
            # was this request's own: an answer that may show an older state than the
            # shared cache's is never repeated.
            learned_for = store.epoch_of_answer(reads) + ":" + mark[1]
            hot.put(_ANSWER + learned_for + address, (status, kept, body, mark[2]))
            hot.put(_SESSION + session, mark[1])
            if element is not None:
                _note_element(learned_for + element[0], mark[3], (status, kept, body, mark[2]))
        return _Sent(body, result.close)


class _Sent:
    """Django's body, read already, with Django's response closed when the server closes this
    one, once the body is sent: its request_finished, and the work put off until the answer
    has gone (after_response.py), do not delay the answer."""

    def __init__(self, body: bytes, close: Callable[[], None]) -> None:
        self._body, self.close = body, close

    def __iter__(self) -> Iterator[bytes]:
        return iter((self._body,))


def _who(session_key: str) -> str | None:
    """The audience of a session let through a moment ago, or checked now and remembered
    until the shared epoch moves, its renewal falls due or SESSION_MEMORY_SECONDS pass."""
    epoch_readable = _follow_epoch()
    who = hot.get(_SESSION + session_key)
    if who is not None:
        return who
    checked = _session_audience(session_key)
    if checked is None:
        return None
    who, renewal_due_in = checked
    longest = max(SESSION_MEMORY_SECONDS, hot.seconds()) if epoch_readable else hot.seconds()
    hot.put(_SESSION + session_key, who, min(longest, renewal_due_in))
    return who


def _follow_epoch() -> bool:
    """Whether the shared epoch could be read; one this process has not seen (a logout or a
    role change in another process) first forgets every session checked here."""
    global _epoch_seen
    current = hot.remembered(_EPOCH_READ, _read_epoch)
    if current != _epoch_seen:
        _epoch_seen = current
        hot.forget_prefix(_SESSION)
    return current is not None


def _read_epoch() -> str | None:
    """The shared epoch; None while it cannot be read from Redis. The cache then answers from
    this process's own memory (dashboard/sharedcache.py), where no other process's logout
    lands: sessions are checked as often as answers lapse until Redis is back."""
    if sharedcache.degraded():
        return None
    try:
        return cache.get_or_set(_EPOCH, lambda: secrets.token_hex(8), None)
    except Exception:
        return None


def _move_epoch() -> None:
    """This process forgot everything itself: the others will when they read the new epoch."""
    global _epoch_seen
    moved = secrets.token_hex(8)
    try:
        cache.set(_EPOCH, moved, None)
    except Exception:  # every process reading the epoch then falls back to the short memory
        logger.warning("Moving the shared session epoch failed.", exc_info=True)
        return
    _epoch_seen = moved
    hot.put(_EPOCH_READ, moved)


def _session_audience(session_key: str) -> tuple[str, float] | None:
    """The permissions of the session's user as django.contrib.auth.get_user() finds them,
    without its side effects (a flush, a new key): those are left to Django; and the seconds
    until a request of the session must renew it (Django's to do)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id, backend = session[auth.SESSION_KEY], session[auth.BACKEND_SESSION_KEY]
        session_hash = session[auth.HASH_SESSION_KEY]
    except KeyError:
        return None
    if backend not in settings.AUTHENTICATION_BACKENDS or renewal_due(session):
        return None
    user = auth.load_backend(backend).get_user(
        auth.get_user_model()._meta.pk.to_python(user_id))
    if user is None or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    try:
        viewers.seen(session_key)  # Django counts the sessions it sees; this one it may not see
    except Exception:  # the cache being down must not fail the poll; readyz reports it
        pass
    return audience(user), renewal_in(session)


def _address(environ: dict, query: str | None = None) -> str:
    """Host, path and query (`query` instead of the request's own, when given)."""
    parts = [environ.get(part) or "" for part in _ADDRESS_PARTS]
    if query is not None:
        parts[-1] = query
    return "\0".join(parts)


def _element(environ: dict) -> tuple[str, str] | None:
    """(the address without the query's `v`, that `v`); None when the query names it twice."""
    kept, named = [], []
    for item in (environ.get("QUERY_STRING") or "").split("&"):
        (named if item.startswith(_VERSION_ITEM) else kept).append(item)
    if len(named) > 1:
        return None
    return _address(environ, "&".join(kept)), named[0][len(_VERSION_ITEM):] if named else ""


def _note_element(who_and_element: str, version: str, answer: tuple) -> None:
    """Django answered a poll of this element: its newest fingerprint is `version`, and
    `answer` is the 204 for it (unchanged) or what it rendered for it."""
    key = _ELEMENT + who_and_element
    newest, rendered, same = hot.get(key) or ("", None, None)
    if answer[0].startswith("204"):
        rendered = rendered if newest == version else None
        same = answer
    else:
        rendered = answer
    hot.put(key, (version, rendered, same))


def _for_element(who: str, element: tuple[str, str]) -> tuple | None:
    """The answer Django would give this poll, from its newest answer to the element."""
    record = hot.get(_ELEMENT + who + element[0])
    if record is None:
        return None
    newest, rendered, same = record
    return same if element[1] == newest else rendered


def _session_cookie(environ: dict) -> str | None:
    """The session key as Django reads it from the Cookie header."""
    raw = environ.get("HTTP_COOKIE")
    return parse_cookie(raw).get(settings.SESSION_COOKIE_NAME) if raw else None
