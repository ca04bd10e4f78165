"""A URLconf with one view that fails, for testing the 500 page."""

from django.urls import path

from dashboard.urls import handler500  # noqa: F401
from dashboard.urls import urlpatterns as site_urls


def broken(request):
    raise RuntimeError("this page is broken on purpose")


urlpatterns = [path("broken/", broken), *site_urls]
