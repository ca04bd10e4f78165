from django.urls import include, path
from django.views.generic import RedirectView

from dashboard.actions.status_views import polling_status

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="actions:list", permanent=False), name="home"),
    path("accounts/", include("dashboard.accounts.urls")),
    path("audit/", include("dashboard.accounts.audit_urls")),
    path("", include("dashboard.history.urls")),
    path("", include("dashboard.observability.urls")),
    path("actions/", include("dashboard.actions.urls")),
    path("alerts/", include("dashboard.alerts.urls")),
    path("status/", polling_status, name="status"),
]

handler500 = "dashboard.observability.errors.server_error"
