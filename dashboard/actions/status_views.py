"""The polling economy's status page, for the auditor role."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from dashboard.accounts.roles import VIEW_STATUS
from dashboard.polling import reads, status


@require_safe
@never_cache
@permission_required(VIEW_STATUS, raise_exception=True)
def polling_status(request: HttpRequest) -> HttpResponse:
    snapshot = status.current(reads.poll_interval())
    return render(request, "actions/status.html", {"status": snapshot})
