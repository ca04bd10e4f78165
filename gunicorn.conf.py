"""gunicorn's production configuration: `gunicorn -c gunicorn.conf.py dashboard.wsgi`.

Every value comes from the environment (see README.md). Workers are processes,
threads serve concurrent polls inside each; metrics from all workers are merged through
prometheus-client's multiprocess directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _whole(name: str, default: int, *, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise SystemExit(f"{name} must be a whole number of at least {minimum}, not {raw!r}.")
    return int(raw)


# Platforms that set PORT expect the app on every interface; otherwise loopback by default.
bind = [
    os.environ.get("GUNICORN_BIND", "").strip()
    or (f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "127.0.0.1:8000")
]
workers = _whole("GUNICORN_WORKERS", _whole("WEB_CONCURRENCY", 2))
threads = _whole("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _whole("GUNICORN_TIMEOUT", 30)
graceful_timeout = _whole("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _whole("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so a slow leak can never take a replica down.
max_requests = _whole("GUNICORN_MAX_REQUESTS", 5000, minimum=0)
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips
# No control socket: nothing here uses gunicornc, and replicas sharing a host (or a read-only
# $HOME) must not fight over $HOME/.gunicorn/gunicorn.ctl.
control_socket_disable = True
# The worker temp dir in shared memory: a slow disk must not make the arbiter kill workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None

accesslog = "-"
errorlog = "-"
access_log_format = '%(m)s %(U)s %(s)s'  # the JSON formatter picks the other fields itself
_log_format = os.environ.get("DJANGO_LOG_FORMAT", "json").strip().lower()
_formatter = (
    {"()": "dashboard.observability.logging.JsonFormatter"}
    if _log_format == "json"
    else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
)
# Answered htmx polls are left out of the access log (hundreds a second with many viewers;
# the metrics count them): dashboard/observability/logging.py, QuietPollsFilter.
_log_polls = os.environ.get("GUNICORN_LOG_POLLS", "").strip() in ("1", "true", "yes")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": _formatter},
    "filters": {"quiet_polls": {"()": "dashboard.observability.logging.QuietPollsFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line",
                    "stream": "ext://sys.stderr"},
        "access": {"class": "logging.StreamHandler", "formatter": "line",
                   "stream": "ext://sys.stderr", "filters": [] if _log_polls else ["quiet_polls"]},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}

# Without a shared directory each worker would report only its own counters, and a scrape
# would see whichever worker answered. Must be set before prometheus_client is imported.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashboard-metrics-")


def on_starting(server) -> None:
    """Counters restart with the server: clear what a previous run left in the directory."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def worker_exit(server, worker) -> None:
    """A worker leaving (max_requests, a reload) first finishes storing the failed rows of a
    big result it started (dashboard/history/rows_later.py), within the graceful timeout:
    otherwise the next viewer would have to read that result from Voucherify again."""
    import sys

    rows_later = sys.modules.get("dashboard.history.rows_later")
    if rows_later is not None:
        rows_later.wait_all(timeout=max(1, graceful_timeout - 5))


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
