"""The overview charts (the purge audit's views are in purge_views). Thin: parse, ask, render."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dashboard.accounts.roles import VIEW_ACTIONS
from dashboard.history import charts, svg
from dashboard.history.list_links import day_list_url


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    data = charts.overview()
    return render(request, "history/overview.html", {
        "overview": data,
        "days_svg": svg.stacked_days(data.days, link=day_list_url),
        "failures_svg": svg.failure_shares(data.types),
        "durations_svg": svg.durations(data.types),
    })
