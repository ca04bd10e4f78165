"""The actions list and the one poll that refreshes its live rows. Thin: parse, ask, render."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseStopPolling

from dashboard.accounts.roles import VIEW_ACTIONS
from dashboard.actions import live_counts, poll_versions
from dashboard.actions.list_page import (
    LiveRows,
    list_page,
    live_version,
    parse_live_ids,
    parse_live_seen,
    read_live,
    refresh_rows,
)
from dashboard.actions.list_params import ListState, parse_list_params
from dashboard.actions.list_table import detail_url
from dashboard.polling import problems, reads

LIVE = "actions/list.html#live"


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def action_list(request: HttpRequest) -> HttpResponse:
    state = parse_list_params(request.GET)
    if not state.errors and state.search_kind == "action":
        return redirect(detail_url(state.q))
    if not state.errors and not _is_canonical(request, state):
        return redirect(reverse("actions:list") + state.query())  # one state, one URL
    page = list_page(state, reverse("actions:list"))
    response = render(request, "actions/list.html", {"page": page}, status=page.http_status)
    if page.older_url:
        response["Link"] = f'<{request.build_absolute_uri(page.older_url)}>; rel="next"'
    if page.failure is not None:
        problems.answer(response, page.failure)
    return response


def _is_canonical(request: HttpRequest, state: ListState) -> bool:
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return query == list(state.params().items())


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def live_rows(request: HttpRequest) -> HttpResponse:
    """One poll for every live row of a page; 286 stops the polling once none is live."""
    try:
        ids = parse_live_ids(request.GET.get("ids", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    read = read_live(ids)
    version = live_version(ids, read[0], f"{reads.poll_interval():g}",
                           poll_versions.query_without(request.GET))
    if poll_versions.is_unchanged(request.GET, version):
        return poll_versions.unchanged()
    seen = parse_live_seen(request.GET.get("seen", ""), ids)

    def rows() -> LiveRows:
        return refresh_rows(ids, seen, *live_counts.parse_query(request.GET, ids), read=read)

    if version is not None:  # every row running and fresh: one render for all their viewers
        return HttpResponse(poll_versions.shared_render(
            version, lambda: render_to_string(LIVE, rows().context(), request), "live"))
    live = rows()
    response = render(request, LIVE, live.context())
    if not live.still_live:
        return HttpResponseStopPolling(response.content)
    return response
