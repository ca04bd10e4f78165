"""WSGI entry point (gunicorn dashboard.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

django_application = get_wsgi_application()

from dashboard.quick_polls import QuickPolls  # noqa: E402  (needs Django set up)

# Unchanged polls Django just answered are answered again in front of it: see the module.
application = QuickPolls(django_application)
