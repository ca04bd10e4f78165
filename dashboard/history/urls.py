from django.urls import path

from dashboard.history import purge_views, views

app_name = "history"

urlpatterns = [
    path("overview/", views.overview, name="overview"),
    path("audit/purges/", purge_views.purge_audit_page, name="purges"),
    path("audit/purges.csv", purge_views.purge_csv, name="purges_csv"),
    path("audit/purges/keys/", purge_views.schema_keys, name="purge_keys"),
    path("audit/purges/backfill/", purge_views.backfill_progress, name="purge_backfill"),
    path("audit/purges/backfill/start/", purge_views.start_backfill, name="purge_backfill_start"),
    path("audit/purges/<str:action_id>/notes/", purge_views.purge_notes, name="purge_note"),
]
