"""The metadata key purge audit: the page, its CSV, auditors' notes, the backfill, the keys.

Thin: parse, ask purge_audit/purges, render. No view here calls Voucherify.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseStopPolling

from dashboard.accounts.exports import record_export
from dashboard.accounts.roles import VIEW_PURGE_AUDIT
from dashboard.history import backfill, purge_audit, purges
from dashboard.history.purges import midnight

PURGES_PER_PAGE = 100


def _audit_url(selected: purges.PurgeFilter, anchor: str = "") -> str:
    return reverse("history:purges") + selected.query() + (f"#{anchor}" if anchor else "")


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_audit_page(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    audit = purge_audit.audit_page(selected, request.GET, PURGES_PER_PAGE)
    return render(request, "history/purges.html", {
        "filter": selected,
        "filter_query": selected.query(),
        "audit": audit,
        "page": audit.page,
        "rows": audit.rows,
        "older_link": audit.page.link(selected.params(), "older"),
        "newer_link": audit.page.link(selected.params(), "newer"),
        "object_types": purges.OBJECT_TYPES,
        "backfill_calls": backfill.max_calls(),
    }, status=400 if selected.errors else 200)


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_csv(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    if selected.errors:
        return purge_audit_page(request)
    if request.method != "HEAD":  # a HEAD answer carries no rows: nobody took any
        record_export(request, what="purges.csv",
                      rows=purges.selection_of(selected).counts()[0],
                      filters=selected.params(), link=_audit_url(selected))
    # streamed: read in chunks while the CSV is sent
    response = StreamingHttpResponse(purges.csv_lines(selected),
                                     content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="metadata-key-purges-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_notes(request: HttpRequest, action_id: str) -> HttpResponse:
    """One purge's notes and the form to add one (notes are append-only)."""
    selected = purges.parse_filter(request.POST if request.method == "POST" else request.GET)
    problem = ""
    if request.method == "POST":
        note, problem = purge_audit.add_note(action_id, request.user, request.POST)
        if note is not None:  # notes are part of the audit trail, beside the exports
            record_export(request, what="purge note", action_id=action_id,
                          filters=selected.params(),
                          link=_audit_url(selected, f"purge-{action_id}"))
            messages.success(request, "The note was added.")
            return redirect(_audit_url(selected, f"purge-{action_id}"))
    purge = purge_audit.purge_with_notes(action_id)
    return render(request, "history/purge_notes.html", {
        "purge": purge, "filter": selected, "problem": problem, "form": request.POST,
        "back": _audit_url(selected, f"purge-{action_id}"),
    }, status=400 if problem else (200 if purge else 404))


@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
@require_POST
def start_backfill(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.POST)
    since = midnight(selected.start) if selected.start else None
    _run, problem = backfill.start(request.user.get_username(), since)
    if problem:
        messages.warning(request, problem)
    else:
        messages.success(request, "The backfill started; its progress is shown below.")
    return redirect(_audit_url(selected, "backfill"))


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def backfill_progress(request: HttpRequest) -> HttpResponse:
    """The backfill panel alone, for htmx polling; 286 ends the polling once it finished."""
    run = backfill.current()
    response = render(request, "history/purges.html#backfill", {"audit": {"backfill": run}})
    if run is None or not run.active:
        stopped = HttpResponseStopPolling(response.content)
        stopped["Content-Type"] = response["Content-Type"]
        return stopped
    return response


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def schema_keys(request: HttpRequest) -> HttpResponse:
    return render(request, "history/purge_keys.html", {"lives": purge_audit.key_lives()})
