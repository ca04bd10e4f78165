from django.urls import path

from dashboard.alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.index, name="index"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("<int:subscription_id>/remove/", views.unsubscribe, name="remove"),
    path("history/", views.history, name="history"),
]
