"""Login with lockout and the export log."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import permission_required
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from dashboard.accounts import export_filters, lockout
from dashboard.accounts.exports import client_ip
from dashboard.accounts.models import ExportRecord
from dashboard.accounts.roles import VIEW_EXPORT_LOG
from dashboard.accounts.tables import ExportRecordTable

EXPORTS_PER_PAGE = 50


class LoginView(auth_views.LoginView):
    """Django's login, refusing a username or an address after repeated failures."""

    redirect_authenticated_user = True  # no login form for someone already logged in

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        lock = lockout.current_lock(self._username(), client_ip(request))
        if lock:
            return self._locked(lock)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        lockout.record_success(self._username())
        return super().form_valid(form)

    def form_invalid(self, form) -> HttpResponse:
        lock = lockout.record_failure(self._username(), client_ip(self.request))
        if lock:
            return self._locked(lock)
        return super().form_invalid(form)

    def _username(self) -> str:
        return self.request.POST.get("username", "")[:150]

    def _locked(self, lock: lockout.Lock) -> HttpResponse:
        context = self.get_context_data(form=self.form_class(self.request), locked=lock)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(lock.minutes_left * 60)
        return response


class LogoutView(auth_views.LogoutView):
    """Django's logout, saying so on the login page it leads to."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been logged out.")
        return response


@require_safe
@permission_required(VIEW_EXPORT_LOG, raise_exception=True)
def export_log(request: HttpRequest) -> HttpResponse:
    """The log, filtered by the GET form above it; a bad value is named and left out (400)."""
    form = export_filters.parse(request.GET)
    records = export_filters.apply(form, ExportRecord.objects.all())
    table = ExportRecordTable(records, order_by=request.GET.get("sort"))
    table.request = request
    try:
        table.paginate(page=int(request.GET.get("page", 1)), per_page=EXPORTS_PER_PAGE)
    except (ValueError, PageNotAnInteger, EmptyPage):
        table.paginate(page=1, per_page=EXPORTS_PER_PAGE)
    return render(request, "accounts/export_log.html", {
        "table": table, "form": form, "filtered": export_filters.is_filtered(form),
    }, status=400 if form.errors else 200)
