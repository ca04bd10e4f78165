from django.urls import path

from dashboard.history import views

app_name = "history"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("audit/purges/", views.purge_audit, name="purges"),
    path("audit/purges.csv", views.purge_csv, name="purges_csv"),
]
