"""Probe and scrape endpoints at the site root, outside the login wall."""

from django.urls import path

from dashboard.observability import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
