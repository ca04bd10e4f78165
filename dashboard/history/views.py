"""The overview charts and the metadata key purge audit. Thin: parse, ask, render."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.accounts.exports import record_export
from dashboard.accounts.roles import VIEW_ACTIONS, VIEW_PURGE_AUDIT
from dashboard.history import charts, purges, svg
from dashboard.history.query import coverage

PURGES_PER_PAGE = 100


@require_GET
@permission_required(VIEW_ACTIONS, raise_exception=True)
def overview(request: HttpRequest) -> HttpResponse:
    data = charts.overview()
    return render(request, "history/overview.html", {
        "overview": data,
        "days_svg": svg.stacked_days(data.days),
        "failures_svg": svg.failure_shares(data.types),
        "durations_svg": svg.durations(data.types),
    })


@require_GET
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_audit(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    rows = list(purges.purge_rows(selected))
    paginator = Paginator(rows, PURGES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "history/purges.html", {
        "filter": selected,
        "page": page,
        "rows": page.object_list,
        "total": len(rows),
        "without_detail": sum(1 for row in rows if not row.has_detail),
        "coverage": coverage(),
        "object_types": purges.OBJECT_TYPES,
    }, status=400 if selected.errors else 200)


@require_GET
@permission_required(VIEW_PURGE_AUDIT, raise_exception=True)
def purge_csv(request: HttpRequest) -> HttpResponse:
    selected = purges.parse_filter(request.GET)
    if selected.errors:
        return purge_audit(request)
    rows = list(purges.purge_rows(selected))
    record_export(request, what="purges.csv", rows=len(rows))
    response = StreamingHttpResponse(purges.csv_lines(rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="metadata-key-purges-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
