"""Reading the history a filtered list lacks, from the list page: start it, watch it.

The run itself is the purge audit's backfill (dashboard/history/backfill.py): one at a time,
bounded by HISTORY_SYNC_MAX_CALLS, in the background, paid from the shared budget (purpose
`sync`). Thin: parse, ask, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from dashboard.accounts.roles import START_SYNC, VIEW_ACTIONS
from dashboard.actions.list_params import parse_list_params
from dashboard.history import backfill

PANEL = "actions/_history_sync.html#progress"


@permission_required(START_SYNC, raise_exception=True)
@require_POST
def start_history_sync(request: HttpRequest) -> HttpResponse:
    """Start one bounded run (a second start while one runs starts nothing) and go back to
    the list it was started from."""
    state = parse_list_params(QueryDict(request.POST.get("next", "").lstrip("?")))
    back = reverse("actions:list") + ("" if state.errors else state.query()) + "#history-sync"
    _run, problem = backfill.start(request.user.get_username(), since=None)
    if problem:
        messages.warning(request, problem)
    else:
        messages.success(request, "Reading the missing history has started; its progress is "
                                  "shown above the list.")
    return redirect(back)


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def history_sync_progress(request: HttpRequest) -> HttpResponse:
    """The progress alone, for htmx polling. A run that finished well reloads the page (its
    filters are complete now); one that stopped says why and ends the polling (286)."""
    run = backfill.current()
    if run is not None and not run.active and run.state == run.DONE and not run.problem:
        return HttpResponseClientRefresh()
    response = render(request, PANEL, {"run": run, "max_calls": backfill.max_calls()})
    if run is None or not run.active:
        stopped = HttpResponseStopPolling(response.content)
        stopped["Content-Type"] = response["Content-Type"]
        return stopped
    return response
