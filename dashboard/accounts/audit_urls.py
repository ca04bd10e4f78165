from django.urls import path

from dashboard.accounts import views

app_name = "audit"

urlpatterns = [
    path("exports/", views.export_log, name="exports"),
]
