"""The actions list and the one poll that refreshes its live rows. Thin: parse, ask, render."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe
from django_htmx.http import HttpResponseStopPolling

from dashboard.accounts.roles import VIEW_ACTIONS
from dashboard.actions import (
    list_failures,
    list_new,
    list_search,
    live_counts,
    poll_versions,
    saved_views,
)
from dashboard.actions.list_live import (
    parse_live_ids,
    parse_live_seen,
    poll_version,
    read_rows,
    refresh_rows,
)
from dashboard.actions.list_page import ListPage, list_page
from dashboard.actions.list_params import ListState, parse_list_params
from dashboard.actions.list_table import detail_url
from dashboard.polling import problems, reads
from dashboard.voucherify.cursor import is_valid_action_id


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def action_list(request: HttpRequest) -> HttpResponse:
    state = parse_list_params(request.GET)
    if not state.errors and state.search_kind == "action":
        return redirect(detail_url(state.q))
    if not state.errors and not _is_canonical(request, state):
        return redirect(reverse("actions:list") + state.query())  # one state, one URL
    if not state.errors and state.search_kind == "suffix":
        found = list_search.ids_with_suffix(state.q)
        if len(found) == 1:
            return redirect(detail_url(found[0]))
        page = list_page(state, reverse("actions:list"), suffix_matches=found)
        return render(request, "actions/list.html", _list_context(request, page))
    page = list_page(state, reverse("actions:list"))
    response = render(request, "actions/list.html", _list_context(request, page),
                      status=page.http_status)
    if page.older_url:
        response["Link"] = f'<{request.build_absolute_uri(page.older_url)}>; rel="next"'
    if page.failure is not None:
        problems.answer(response, page.failure)
    return response


def _list_context(request: HttpRequest, page: ListPage) -> dict:
    """The page, and the person's saved views (the one shown now marked)."""
    here = "" if page.state.errors else page.state.newest().query()
    return {"page": page, "saved_views": saved_views.views_of(
        request.user, here, request.build_absolute_uri("/").rstrip("/")),
            "saved_query": here}


def _is_canonical(request: HttpRequest, state: ListState) -> bool:
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return query == list(state.params().items())


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def live_rows(request: HttpRequest) -> HttpResponse:
    """One poll for every live row of a page and a few of its unread results; 286 stops the
    polling once no row is live and every result is read."""
    try:
        details = parse_live_ids(request.GET.get(list_failures.DETAILS_PARAM, ""),
                                 required=False)
        ids = parse_live_ids(request.GET.get("ids", ""), required=not details)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    seen = parse_live_seen(request.GET.get("seen", ""), ids)
    read = read_rows(ids)
    results = list_failures.results_for(details)
    banner = _banner(request)
    new = list_new.new_actions(*banner) if banner else None
    version = poll_version(
        ids, read, results, reads.poll_interval(), request.user.is_superuser,
        poll_versions.query_without(request.GET), (new.count, new.more) if new else None)
    if poll_versions.is_unchanged(request.GET, version):
        return poll_versions.unchanged(request)  # nothing to swap: no render, no SQL

    def render_live() -> tuple[str, bool]:
        live = refresh_rows(ids, seen, *live_counts.parse_query(request.GET, ids),
                            details=details, read=read, results=results)
        live.version = version
        if banner:  # the banner's next check rides on the poll's address
            live.extra = list_new.check_params(*banner)
        context = live.context()
        if new is not None:  # the banner polls by itself once the rows stop
            context["new"] = dataclasses.replace(new, polls=not live.polling)
        return render_to_string("actions/list.html#live", context, request), live.polling

    if version is not None:  # rows read fresh: one render for all their viewers
        stopped = []  # the last answer (no row live, no result to read) is each viewer's own

        def render_shared() -> str:
            html, polling = render_live()
            if not polling:
                stopped.append(True)
            return html

        answer = poll_versions.shared_answer(request, version, render_shared, "live",
                                             keep=lambda: not stopped)
        return HttpResponseStopPolling(answer.content) if stopped else answer
    html, polling = render_live()
    return HttpResponse(html) if polling else HttpResponseStopPolling(html)


def _banner(request: HttpRequest) -> tuple[ListState, str] | None:
    """The live poll of a newest page answers its "N new actions" banner too (one poll):
    the list's state and the newest action the page showed, when the poll carries them."""
    raw = request.GET.get(list_new.AFTER_PARAM)
    state = parse_list_params(request.GET)
    if raw is None or state.errors or not is_valid_action_id(raw):
        return None
    return state, raw


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def new_actions(request: HttpRequest) -> HttpResponse:
    """How many actions appeared above an open list's newest page (its banner, polled)."""
    state = parse_list_params(request.GET)
    try:
        after = list_new.parse_after(request.GET.get(list_new.AFTER_PARAM, ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if state.errors:
        return HttpResponseBadRequest(state.errors[0][1], content_type="text/plain; charset=utf-8")
    found = list_new.new_actions(state, after)
    return render(request, "actions/list.html#new_actions", {"new": found})
