"""Settings for the test suite: the real settings with a throwaway key and fast hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-any-deployment-0123456789")
# Nothing in the suite may reach a real API: tests point settings.VOUCHERIFY at the emulator.
os.environ.setdefault("VOUCHERIFY_API_URL", "http://127.0.0.1:9")
os.environ.setdefault("VOUCHERIFY_APP_ID", "unused-test-app-id")
os.environ.setdefault("VOUCHERIFY_APP_TOKEN", "unused-test-app-token")
# The tests drive the emulator (and its commands) over real HTTP.
os.environ.setdefault("DASHBOARD_EMULATOR", "1")

from dashboard.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The test client and the live server speak plain HTTP.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

# A file, not SQLite's shared in-memory database: the live server's threads and the
# background reads (schema snapshots, backfills) write while a request or a test's flush does,
# and shared-cache memory databases fail such writes at once ("database table is locked")
# where a file waits its turn for up to `timeout` seconds.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"dashboard-test-{os.getpid()}.sqlite3"),
    }
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30  # noqa: F405

# Tests change the cache and expect the next request to see it: no per-process memory in front
# of it (dashboard/hot.py; its own tests turn it on).
POLL_MEMORY_SECONDS = 0

# Most tests spend a poll's calls back to back on a frozen clock: the pace, which spreads them
# over the minute, is off but for its own tests (tests/test_budget_pace.py).
VOUCHERIFY_POLL_BURST = 0
