"""Login on every page; htmx requests get a 401 that makes the page go to the login form."""

from __future__ import annotations

from urllib.parse import urlsplit

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
