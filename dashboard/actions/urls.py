from django.urls import path

from dashboard.actions import detail_views, list_views, saved_view_views, sync_views

app_name = "actions"

urlpatterns = [
    path("", list_views.action_list, name="list"),
    path("live/", list_views.live_rows, name="live"),  # before <action_id>/, which would match it
    path("new/", list_views.new_actions, name="new"),
    path("saved-views/", saved_view_views.save_view, name="save_view"),
    path("saved-views/<int:view_id>/delete/", saved_view_views.delete_view,
         name="delete_view"),
    path("history-sync/", sync_views.start_history_sync, name="history_sync_start"),
    path("history-sync/progress/", sync_views.history_sync_progress, name="history_sync"),
    path("<str:action_id>/", detail_views.action_detail, name="detail"),
    path("<str:action_id>/failures/", detail_views.failures_fragment, name="failures"),
    path("<str:action_id>/failures.csv", detail_views.failures_csv, name="failures_csv"),
]
