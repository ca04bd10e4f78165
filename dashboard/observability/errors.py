"""The 500 page, with the request id a person can quote when reporting it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseServerError
from django.template import loader

from dashboard.observability.logging import current_request_id


def server_error(request: HttpRequest) -> HttpResponseServerError:
    # Rendered without the request context on purpose: whatever broke the page may break
    # context processors too.
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({"request_id": current_request_id()}))
