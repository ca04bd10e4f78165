"""The overview charts and the metadata key purge audit. Thin: parse, ask, render."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from dashboard.accounts.exports import record_export
from dashboard.accounts.roles import VIEW_ACTIONS, VIEW_PURGE_AUDIT
from dashboard.history import charts, purges, svg
from dashboard.history.query import coverage

PURGES_PER_PAGE = 100


@require_safe
@permission_required(VIEW_ACTIONS, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    data = charts.overview()
    return render(request, "history/overview.html", {
        "overview": data,
        "days_svg": svg.stacked_days(data.days),
        "failures_svg": svg.failure_shares(data.types),
        "durations_svg": svg.durations(data.types),
    })


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_audit(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    selection = purges.purge_queryset(selected)
    page = Paginator(selection, PURGES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "history/purges.html", {
        "filter": selected,
        "page": page,
        "rows": [purges.to_row(row) for row in page.object_list],
        "total": page.paginator.count,
        "without_detail": selection.filter(has_detail=False).count(),
        "coverage": coverage(),
        "object_types": purges.OBJECT_TYPES,
    }, status=400 if selected.errors else 200)


@require_safe
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_csv(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    if selected.errors:
        return purge_audit(request)
    record_export(request, what="purges.csv", rows=purges.purge_queryset(selected).count())
    rows = purges.purge_rows(selected)  # streamed: read in chunks while the CSV is sent
    response = StreamingHttpResponse(purges.csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="metadata-key-purges-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
