"""The action detail page, its htmx panel updates, the failed-rows fragment and the CSV."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url

from dashboard.accounts.exports import record_export
from dashboard.accounts.roles import EXPORT_FAILURES, VIEW_ACTIONS, VIEW_FAILED_ROWS
from dashboard.actions import poll_versions, shared_pages
from dashboard.actions.detail_page import Panel, build_panel
from dashboard.history.failed_items import UnreadableFailures
from dashboard.history.failures import Failures, csv_filename, csv_lines, parse_query
from dashboard.history.rows_later import failures_for
from dashboard.polling import problems, reads
from dashboard.voucherify import (
    InvalidActionIdError,
    NotFoundError,
    VoucherifyError,
    is_valid_action_id,
)
from dashboard.voucherify.catalog import status_label

PAGE = "actions/detail.html"
PANEL = "actions/detail.html#panel"
FAILURES = "actions/detail.html#failures"
SEEN_PARAM = "seen"  # the status the polling browser shows, so changes can be announced
# The id of the failures section, which polls (htmx sends the id as HX-Trigger) only while a
# big result's rows are stored: its answer with the table ends the polling.
ROWS_LOADING_ID = "failures"


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
@vary_on_headers("HX-Request")
def action_detail(request: HttpRequest, action_id: str) -> HttpResponse:
    """The page; for htmx polls the panel alone, with 286 once the action has finished."""
    # htmx asks again for an address it pushed (the failures' filters) when the viewer goes
    # Back to it (historyCacheSize 0), as an htmx request: that gets the page, not a panel.
    polled = (bool(request.htmx) and not request.htmx.boosted
              and not request.htmx.history_restore_request)
    context = _context(request, action_id)
    fetched = _fetch_or_answer(request, context, polled=polled)
    if isinstance(fetched, HttpResponse):
        return fetched
    poll_every = _poll_every() if fetched.value.is_live or fetched.stale else None
    context["poll_version"] = _version(request, context, fetched, poll_every)
    if polled and poll_versions.is_unchanged(request.GET, context["poll_version"]):
        return poll_versions.unchanged(request)
    context["poll_every"] = poll_every
    if not polled:
        if context["poll_version"] is not None and shared_pages.can_share(request):
            # running and fresh: one render of the page for its viewers of these permissions
            return shared_pages.answer(request, context["poll_version"],
                                       lambda slots: _page(request, context, fetched, slots))
        context["panel"] = _panel(request, context, fetched)
        return render(request, PAGE, context)
    if context["poll_version"] is not None:  # running and fresh: one render for all its viewers
        return poll_versions.shared_answer(
            request, context["poll_version"], lambda: _polled_panel(request, context, fetched),
            "panel", _announces(request, fetched))
    final = poll_versions.final_version(fetched, *_depends_on(request, context, None))
    if final is not None:  # finished, read for good: one last answer for all its viewers
        return poll_versions.shared_answer(
            request, final, lambda: _polled_panel(request, context, fetched),
            "panel", _announces(request, fetched), last=True,
            keep=lambda: not context["panel"].failures.rows_withheld)
    html = _polled_panel(request, context, fetched)
    if context["panel"].is_terminal and not context["panel"].stale:
        # The last answer carries the final panel (htmx swaps a 286 body) and ends the polling.
        # A stale terminal state (the final read was refused) keeps polling for the result.
        return HttpResponseStopPolling(html)
    return HttpResponse(html)


def _panel(request: HttpRequest, context: dict, fetched: reads.Fetched) -> Panel:
    return build_panel(fetched, can_view_failures=context["can_view_failures"],
                       params=request.GET)


def _page(request: HttpRequest, context: dict, fetched: reads.Fetched,
          slots: dict[str, object]) -> str:
    """The whole page with the requester's own parts as slots (shared_pages.py)."""
    context["panel"] = _panel(request, context, fetched)
    return render_to_string(PAGE, {**context, **slots}, request)


def _polled_panel(request: HttpRequest, context: dict, fetched: reads.Fetched) -> str:
    """The panel alone, announcing a status the browser did not show yet."""
    context["panel"] = _panel(request, context, fetched)
    if _announces(request, fetched) == "announced":
        context["announce"] = _announcement(context["panel"])
    return render_to_string(PANEL, context, request)


def _announces(request: HttpRequest, fetched: reads.Fetched) -> str:
    """All the polled panel's render takes from `seen`: whether the status is news to the
    browser. Part of the shared render's key as that, not as sent (any text a client sends
    would be another render and another cache entry)."""
    return "unannounced" if request.GET.get(SEEN_PARAM) == fetched.value.status else "announced"


@require_safe
@permission_required(VIEW_FAILED_ROWS, raise_exception=True)
@vary_on_headers("HX-Request")
def failures_fragment(request: HttpRequest, action_id: str) -> HttpResponse:
    """The failed-rows table alone (paging, filtering); the page itself for plain browsers."""
    page_url = reverse("actions:detail", args=[action_id]) if is_valid_action_id(action_id) else ""
    query = request.GET.urlencode()
    if not request.htmx or not page_url:
        return redirect(f"{page_url or reverse('actions:list')}{'?' + query if query else ''}")
    context = _context(request, action_id)
    try:
        fetched = reads.fetch_action(action_id)
    except VoucherifyError as exc:
        context["problem"] = exc
        return render(request, FAILURES, context)
    panel = context["panel"] = build_panel(fetched, can_view_failures=True, params=request.GET)
    if panel.failures.loading:  # still storing: the loading panel again, polling on
        return render(request, FAILURES, context)
    if request.htmx.trigger == ROWS_LOADING_ID:  # the rows are in: the table ends the polling
        return HttpResponseStopPolling(render_to_string(FAILURES, context, request))
    response = render(request, FAILURES, context)
    return push_url(response, f"{page_url}{'?' + query if query else ''}")


@require_safe
@permission_required(EXPORT_FAILURES, raise_exception=True)
def failures_csv(request: HttpRequest, action_id: str) -> HttpResponse:
    """The failed rows or errors the table's filter selects (every one without a filter),
    streamed as CSV; a 404 page when there is nothing to export."""
    context = _context(request, action_id)
    fetched = _fetch_or_answer(request, context, polled=False)
    if isinstance(fetched, HttpResponse):
        return fetched
    action = fetched.value
    failures = failures_for(action)
    query = parse_query(request.GET)
    if failures.rows_withheld:  # never a part of the rows as the whole file
        return _rows_not_readable(request, context, failures)
    if not failures:
        context.update(back_url=context["detail_url"], notice_title="Nothing to export")
        context["notice"] = "This action has no failed rows or errors to export."
        return render(request, PAGE, context, status=404)
    filters = query.filters
    link = context["detail_url"] + (f"?{urlencode(filters)}" if filters else "") + "#failures"
    record_export(request, what="failures.csv", action_id=action.id,
                  rows=failures.count_matching(query), filters=filters, link=link)
    response = StreamingHttpResponse(csv_lines(failures, query),
                                     content_type="text/csv; charset=utf-8")
    filename = csv_filename(action, filtered=query.is_filtered)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _rows_not_readable(request: HttpRequest, context: dict, failures: Failures) -> HttpResponse:
    """The CSV of a big result whose rows cannot be read now: a page saying why, 503 with
    Retry-After (404 when they never can be)."""
    heading = f"The {len(failures):,} failed {failures.noun} of this action"
    context["back_url"] = context["detail_url"]
    if failures.loading:
        context["notice_title"] = "Still loading"
        context["notice"] = f"{heading} are still being stored; try the download again in a moment."
    else:
        context["notice_title"] = "Cannot be read"
        context["notice"] = f"{heading} cannot be read: {failures.unavailable}"
    if isinstance(failures, UnreadableFailures) and failures.final:
        return render(request, PAGE, context, status=404)
    response = render(request, PAGE, context, status=503)
    response["Retry-After"] = str(max(1, round(reads.poll_interval())))
    return response


def _fetch_or_answer(
    request: HttpRequest, context: dict, *, polled: bool
) -> reads.Fetched | HttpResponse:
    """The action, or the page (the panel, for a poll) saying why there is none: a missing or
    malformed id ends polling; an upstream problem keeps polling until it clears.

    A malformed id never reaches the upstream: the polling layer and the client refuse it."""
    action_id = context["action_id"]
    try:
        return reads.fetch_action(action_id, background=polled)
    except (NotFoundError, InvalidActionIdError) as exc:
        return _missing(request, context, problems.describe(exc, action_id=action_id), polled)
    except VoucherifyError as exc:
        context.update(problem=exc, poll_every=_poll_every())
        if polled:
            return render(request, PANEL, context)
        return problems.answer(render(request, PAGE, context), problems.describe(exc))


def _context(request: HttpRequest, action_id: str) -> dict:
    detail_url, failures_url, csv_url = _urls(action_id, get_script_prefix())
    return {
        "action_id": action_id,
        "detail_url": detail_url,
        "failures_url": failures_url,
        "csv_url": csv_url,
        "can_view_failures": request.user.has_perm(VIEW_FAILED_ROWS),
        "can_export": request.user.has_perm(EXPORT_FAILURES),
        "seen_param": SEEN_PARAM,
        "rows_poll_every": _rows_poll_every(),  # used by the template only while rows load
        "poll_version": None,
    }


@lru_cache(maxsize=4096)
def _urls(action_id: str, script_prefix: str) -> tuple[str, str, str]:
    """The action's addresses, worked out once per process: every poll of a panel needs them
    (reversing three URLs is a tenth of an unchanged poll's CPU). The prefix is in the key."""
    if not is_valid_action_id(action_id):
        return "", "", ""
    return (reverse("actions:detail", args=[action_id]),
            reverse("actions:failures", args=[action_id]),
            reverse("actions:failures_csv", args=[action_id]))


def _missing(
    request: HttpRequest, context: dict, problem: problems.Problem, polled: bool
) -> HttpResponse:
    context["notice"] = f"{problem.sentence} {problem.advice}"
    if polled:  # the action is gone: show why and stop polling
        return HttpResponseStopPolling(render_to_string(PANEL, context, request))
    return problems.answer(render(request, PAGE, context), problem)


def _version(
    request: HttpRequest, context: dict, fetched: reads.Fetched, poll_every: str | None
) -> str | None:
    """What the panel shows depends on: the action, the interval, the viewer, the query
    (and, served stale, why and since when)."""
    depends_on = _depends_on(request, context, poll_every)
    if fetched.stale:
        return poll_versions.stale_version(fetched, *depends_on)
    return poll_versions.version([fetched], *depends_on)


def _depends_on(request: HttpRequest, context: dict, poll_every: str | None) -> tuple:
    # A superuser's panel says more about an upstream fault (actions/_error.html's hint).
    return (poll_every, context["can_view_failures"], context["can_export"],
            request.user.is_superuser, poll_versions.query_without(request.GET, SEEN_PARAM))


def _poll_every() -> str:
    """hx-trigger's interval; the server may slow clients down by answering a longer one."""
    return f"{reads.poll_interval():g}s"


def _rows_poll_every() -> str:
    """The stored rows are read from the archive, never from Voucherify: their poll is not
    slowed down for the budget (nor does working that out cost a first read its look at it)."""
    return f"{float(settings.ACTIONS_POLL_INTERVAL):g}s"


def _announcement(panel) -> str:
    text = f"Status: {status_label(panel.action.status)}."
    if panel.is_terminal and panel.outcome:
        text += f" {panel.outcome}"
    return text
