"""Django settings, all read from the environment (see README: Settings)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard import env
from dashboard.observability.dburl import database_from_url
from dashboard.observability.logging import logging_config
from dashboard.voucherify.config import ConfigurationError, VoucherifyConfig

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env.boolean("DJANGO_DEBUG", False)
SECRET_KEY = env.secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (any long random string)."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.strings(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.strings("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tables2",
    "template_partials",
    "dashboard.accounts",
    "dashboard.actions",
    "dashboard.history",
    "dashboard.alerts",
    "dashboard.observability",
]
# The Voucherify emulator (its `emulator` and `demo` commands) is for the demo and the tests,
# not for production: DASHBOARD_EMULATOR=1 (on by default with DJANGO_DEBUG) installs it.
if env.boolean("DASHBOARD_EMULATOR", DEBUG):
    INSTALLED_APPS.append("dashboard.emulator")

MIDDLEWARE = [
    "dashboard.observability.logging.RequestIdMiddleware",
    "dashboard.observability.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dashboard.polling.askers.AskerMiddleware",
    "dashboard.polling.align.AlignedPollsMiddleware",
    "dashboard.accounts.middleware.LoginRequiredMiddleware",
    "dashboard.accounts.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
DATABASES = {
    "default": database_from_url(
        DATABASE_URL, conn_max_age=env.integer("DJANGO_DB_CONN_MAX_AGE", 60)
    )
    if DATABASE_URL
    else {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Background threads (schema reads, syncs) write beside requests. A transaction that reads
    # first and writes later cannot wait for SQLite's write lock ("database is locked" at once,
    # whatever the timeout); one that takes the lock when it begins waits its turn.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
    # The purge audit's covering index names PostgreSQL-only INCLUDE columns; on SQLite the
    # same columns are in its key already (history migration 0008), so the warning says nothing.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis, or each process's own memory while Redis is down (dashboard/sharedcache.py).
            "BACKEND": "dashboard.sharedcache.FailoverRedisCache",
            "LOCATION": REDIS_URL,
            # A stopped Redis fails fast (and /readyz says so) instead of hanging requests.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    CACHES = {
        "default": {
            # Django's local memory, with what dashboard/sharedcache.py adds to every backend.
            "BACKEND": "dashboard.sharedcache.LocalCache",
            "LOCATION": "dashboard",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "actions:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DJANGO_TABLES2_TEMPLATE = "django_tables2/semantic.html"

# --- Voucherify upstream (client issue) -------------------------------------------------
# With nothing configured and DEBUG on, the dashboard reads the embedded emulator.
try:
    VOUCHERIFY = VoucherifyConfig.from_env(os.environ, allow_emulator_default=DEBUG)
except ConfigurationError as exc:
    raise ImproperlyConfigured(str(exc)) from None

# --- Actions list and detail -----------------------------------------------------------
# Seconds between htmx polls of live panels and rows.
ACTIONS_POLL_INTERVAL = env.number("ACTIONS_POLL_INTERVAL", 2.0, minimum=0.5)
# Upstream pages one list request may scan to fill a filtered page.
ACTIONS_SCAN_BUDGET = env.integer("ACTIONS_SCAN_BUDGET", 3, minimum=1)
# Finished actions whose results (failed rows) one list poll may read, at background priority.
ACTIONS_DETAILS_PER_POLL = env.integer("ACTIONS_DETAILS_PER_POLL", 3, minimum=0)

# --- Polling economy -------------------------------------------------------------------
VOUCHERIFY_CALLS_PER_MINUTE = env.integer("VOUCHERIFY_CALLS_PER_MINUTE", 40, minimum=1)
# Of those, calls background refreshes leave for page loads a person asked for.
VOUCHERIFY_BUDGET_RESERVE = env.integer("VOUCHERIFY_BUDGET_RESERVE", 4)
# Fair shares of that minute: one person (user or session) may spend this part of it (more
# only while as much is left for others); live updates (htmx polls) and background work
# (sync_actions, the alerts watcher) at most theirs.
VOUCHERIFY_USER_SHARE = env.number("VOUCHERIFY_USER_SHARE", 0.25, minimum=0.0)
VOUCHERIFY_POLL_SHARE = env.number("VOUCHERIFY_POLL_SHARE", 0.75, minimum=0.0)
VOUCHERIFY_SYNC_SHARE = env.number("VOUCHERIFY_SYNC_SHARE", 0.75, minimum=0.0)
# Live updates' refreshes spend at most this many calls in the seconds their part of the share
# takes to earn them (1 of 21 a minute: one every 3 s), so they stay spread evenly over the
# minute (a larger burst lets them come together and then wait, which is how late a change
# shows); 0: no pace.
VOUCHERIFY_POLL_BURST = env.integer("VOUCHERIFY_POLL_BURST", 1, minimum=0)
# The part of the live updates' share kept for reading each finished action's result once
# (at least what whole-second pacing leaves over), counted apart so that results never hold
# the refreshes back.
VOUCHERIFY_RESULT_SHARE = env.number("VOUCHERIFY_RESULT_SHARE", 0.3, minimum=0.0)
# While Redis cannot be reached each process counts calls on its own: its cap then, per process
# (at most VOUCHERIFY_CALLS_PER_MINUTE divided by replicas times workers keeps the sum in bounds).
VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE = env.integer(
    "VOUCHERIFY_OUTAGE_CALLS_PER_MINUTE", max(1, VOUCHERIFY_CALLS_PER_MINUTE // 10), minimum=1
)
# No call while the upstream's X-Rate-Limit-Remaining is at or below this (the customer's own
# integration shares that limit).
VOUCHERIFY_UPSTREAM_RESERVE = env.integer("VOUCHERIFY_UPSTREAM_RESERVE", 10)
# Older pages (with a cursor) change little; they are read again after this many seconds.
ACTIONS_OLDER_PAGE_MAX_AGE = env.number("ACTIONS_OLDER_PAGE_MAX_AGE", 30.0, minimum=0.5)
# The longest poll interval the server asks htmx clients to wait when short of budget.
ACTIONS_MAX_POLL_INTERVAL = env.number("ACTIONS_MAX_POLL_INTERVAL", 30.0, minimum=1)
# How long each process keeps in its own memory what every poll reads from the shared cache
# (running actions' fresh entries, the poll interval, shared renders): dashboard/hot.py.
# A fraction of the poll interval; 0 turns the memory off.
POLL_MEMORY_SECONDS = env.number(
    "POLL_MEMORY_SECONDS", min(0.5, ACTIONS_POLL_INTERVAL / 4), minimum=0.0
)
# "economy" (default) or "naive": every read an upstream call, for bench/polling.py only.
VOUCHERIFY_POLLING_MODE = os.environ.get("VOUCHERIFY_POLLING_MODE", "economy").strip().lower()
if VOUCHERIFY_POLLING_MODE not in ("economy", "naive"):
    raise ImproperlyConfigured("VOUCHERIFY_POLLING_MODE must be 'economy' or 'naive'.")

# --- Archive ---------------------------------------------------------------------------
# Archived actions older than this many days are pruned (prune_archive, and every
# sync_actions run); 0 keeps them forever.
ARCHIVE_RETENTION_DAYS = env.integer("ARCHIVE_RETENTION_DAYS", 0)
# Upstream calls one sync started from a page (the list's or the purge audit's) may spend.
HISTORY_SYNC_MAX_CALLS = env.integer("HISTORY_SYNC_MAX_CALLS", 300, minimum=1)

# --- Accounts and hardening ------------------------------------------------------------
SESSION_COOKIE_AGE = env.integer("DJANGO_SESSION_IDLE_SECONDS", 8 * 3600, minimum=60)
# Expiry after inactivity, not after login: SessionIdleMiddleware renews the session at most
# once per SESSION_TOUCH_SECONDS, so polls do not write the session store on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_TOUCH_SECONDS = env.integer("DJANGO_SESSION_TOUCH_SECONDS", 60, minimum=1)
# Polls read the session and the user from the cache, not the database: sessions are written
# to both (a lost cache entry is read back from the database), and the user with their
# permissions is kept USER_CACHE_SECONDS (dashboard/accounts/backends.py; logout and role
# changes drop it at once, the TTL bounds changes made around the ORM).
SESSION_ENGINE = "dashboard.accounts.sessions"
AUTHENTICATION_BACKENDS = ["dashboard.accounts.backends.CachedModelBackend"]
USER_CACHE_SECONDS = env.integer("DJANGO_USER_CACHE_SECONDS", 60, minimum=0)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # forms carry the token; no script reads the cookie
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.boolean("DJANGO_SECURE_COOKIES", not DEBUG)
SECURE_SSL_REDIRECT = env.boolean("DJANGO_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]  # probes and scrapers use plain HTTP
SECURE_HSTS_SECONDS = env.integer("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
if env.boolean("DJANGO_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets this header itself: clients could otherwise fake HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Failed logins: a username locks after LOGIN_FAILURE_LIMIT, an address after
# LOGIN_FAILURE_LIMIT_PER_IP, within LOGIN_FAILURE_WINDOW seconds; locks last
# LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = env.integer("DJANGO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_LIMIT_PER_IP = env.integer("DJANGO_LOGIN_FAILURE_LIMIT_PER_IP", 20, minimum=1)
LOGIN_FAILURE_WINDOW = env.integer("DJANGO_LOGIN_FAILURE_WINDOW", 15 * 60, minimum=1)
LOGIN_LOCKOUT_SECONDS = env.integer("DJANGO_LOGIN_LOCKOUT_SECONDS", 15 * 60, minimum=1)

# --- Alerts (README.md: Alerts) ---------------------------------------------------------
# Mail through Django's SMTP backend; DJANGO_EMAIL_BACKEND=...console.EmailBackend prints them.
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
).strip()
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost").strip()
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "").strip()
EMAIL_HOST_PASSWORD = env.secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 20, minimum=1)
ALERTS_FROM_EMAIL = os.environ.get("ALERTS_FROM_EMAIL", "alerts@localhost").strip()
# The dashboard's address as receivers open it: alert links point at its action pages.
ALERTS_DASHBOARD_URL = os.environ.get("ALERTS_DASHBOARD_URL", "http://127.0.0.1:8000").strip()
# watch_actions evaluates every rule once per this many seconds (longer while the budget is
# short); each evaluation reads the newest page through the shared cache and budget.
ALERTS_POLL_INTERVAL = env.number("ALERTS_POLL_INTERVAL", 15.0, minimum=0.5)
# A failed delivery is retried after 30 s, 60 s, 120 s... (at most ALERTS_RETRY_MAX_SECONDS),
# and given up after ALERTS_MAX_ATTEMPTS attempts.
ALERTS_RETRY_SECONDS = env.number("ALERTS_RETRY_SECONDS", 30.0)
ALERTS_RETRY_MAX_SECONDS = env.number("ALERTS_RETRY_MAX_SECONDS", 3600.0)
ALERTS_MAX_ATTEMPTS = env.integer("ALERTS_MAX_ATTEMPTS", 8, minimum=1)
# A worker's claim on an alert it is sending; another worker may take it over after this.
ALERTS_CLAIM_SECONDS = env.number("ALERTS_CLAIM_SECONDS", 120.0, minimum=30)

# --- Observability (README.md: Running in production) ---------------------------
# /metrics answers only a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; off if unset.
METRICS_TOKEN = env.secret("METRICS_TOKEN")
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be text or json, not {LOG_FORMAT!r}.")
LOGGING = logging_config(LOG_FORMAT, os.environ.get("DJANGO_LOG_LEVEL", "INFO").upper())
