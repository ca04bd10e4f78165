"""Request metrics: response time per view, htmx polls, and the sessions seen (viewers)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from dashboard.observability import metrics, viewers

logger = logging.getLogger(__name__)


def view_label(request: HttpRequest) -> str:
    """The URL name ("actions:list"), so label values stay few whatever the paths are."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name  # the dotted function path when the route has no name
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        poll = request.headers.get("HX-Request") == "true"
        metrics.observe_request(
            view_label(request), request.method or "", response.status_code,
            time.perf_counter() - started, poll=poll,
        )
        _note_viewer(request)
        return response


def _note_viewer(request: HttpRequest) -> None:
    # Only a user the request already loaded: counting viewers must not add a query.
    user = request.__dict__.get("_cached_user")
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None or not session.session_key:
        return
    try:
        viewers.seen(session.session_key)
    except Exception:  # the cache being down must not fail the page; readyz reports it
        logger.debug("Could not count the viewer in the cache.", exc_info=True)
