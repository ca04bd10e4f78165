"""Login on every page; htmx requests get a 401 that makes the page go to the login form."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def _page_path(request: HttpRequest) -> str:
    """The page to come back to: for htmx, the page that made the request, not the fragment."""
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, answering htmx requests with 401 and HX-Redirect."""

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        login_url = resolve_url(self.get_login_url(view_func))
        target = redirect_to_login(
            _page_path(request), login_url, self.get_redirect_field_name(view_func)
        )["Location"]
        response = HttpResponse("Your session has ended. Please log in again.", status=401)
        response["HX-Redirect"] = target
        return response


class SessionIdleMiddleware:
    """Idle expiry without a session write on every poll.

    The session's expiry moves forward when it is saved. Saving it on every request
    (SESSION_SAVE_EVERY_REQUEST) would write the session store on each htmx poll of every open
    panel; instead it is saved at most once per SESSION_TOUCH_SECONDS, which is all the
    precision an idle timeout of minutes or hours needs.
    """

    KEY = "_last_seen"

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated and renewal_due(session):
            session[self.KEY] = int(time.time())  # marks the session modified: saved, renewed
        return self.get_response(request)


def renewal_due(session) -> bool:
    """Whether this request must move the session's idle expiry forward."""
    return renewal_in(session) <= 0


def renewal_in(session) -> float:
    """Seconds until a request of the session must move its idle expiry forward."""
    # Renew well within the idle limit, whatever the settings say: touching only every 60 s a
    # session that ends after 60 s idle would log out an active user.
    every = min(settings.SESSION_TOUCH_SECONDS, settings.SESSION_COOKIE_AGE // 2)
    return every - (int(time.time()) - int(session.get(SessionIdleMiddleware.KEY, 0)))
