"""The actions list and the one poll that refreshes its live rows. Thin: parse, ask, render."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseStopPolling

from dashboard.accounts.roles import VIEW_ACTIONS
from dashboard.actions import services
from dashboard.actions.params import ListState, parse_list_params
from dashboard.actions.tables import detail_url


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def action_list(request: HttpRequest) -> HttpResponse:
    state = parse_list_params(request.GET)
    if not state.errors and state.search_kind == "action":
        return redirect(detail_url(state.q))
    if not state.errors and not _is_canonical(request, state):
        return redirect(reverse("actions:list") + state.query())  # one state, one URL
    page = services.list_page(state, reverse("actions:list"))
    response = render(request, "actions/list.html", {"page": page}, status=page.http_status)
    if page.older_url:
        response["Link"] = f'<{request.build_absolute_uri(page.older_url)}>; rel="next"'
    if page.retry_after:
        response["Retry-After"] = str(page.retry_after)
    return response


def _is_canonical(request: HttpRequest, state: ListState) -> bool:
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return query == list(state.params().items())


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def live_rows(request: HttpRequest) -> HttpResponse:
    """One poll for every live row of a page; 286 stops the polling once none is live."""
    try:
        ids = services.parse_live_ids(request.GET.get("ids", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    live = services.refresh_rows(ids, services.parse_live_seen(request.GET.get("seen", ""), ids))
    response = render(request, "actions/_live.html", live.context())
    if not live.still_live:
        return HttpResponseStopPolling(response.content)
    return response
