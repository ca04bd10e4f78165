"""The dashboard under granian: `python -m dashboard.granian_server` (`make serve SERVER=granian`).

Why a second server beside gunicorn (gunicorn.conf.py): at hundreds of viewers nearly every
request is an htmx poll answered in front of Django (dashboard/quick_polls.py) in a few
hundredths of a millisecond, and what is left of its cost is the server's own handling of the
request. granian's HTTP side is Rust; on the same two cores it served about half again as many
polls as gunicorn's gthread workers, each answered sooner (README, "The polling economy",
Benchmark). gunicorn stays the default: its hooks are what granian lacks (a worker that leaves
does not first finish storing a big result's rows, which the next view then does again, and
its metrics files are not marked dead).

Every value comes from the environment, with gunicorn's defaults where both have one:
GRANIAN_HOST / GRANIAN_PORT (127.0.0.1:8000, or 0.0.0.0:$PORT when PORT is set),
GRANIAN_WORKERS (WEB_CONCURRENCY, 2), GRANIAN_BLOCKING_THREADS (4: the threads that run
Django in each worker), GRANIAN_BACKLOG (4096: 200 browsers hold 1,200 connections).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dashboard import env


def options(environ: dict[str, str] | None = None) -> dict[str, object]:
    """granian's keyword arguments as the environment sets them."""
    environ = dict(os.environ if environ is None else environ)
    platform_port = environ.get("PORT", "").strip()  # a platform's: all interfaces, as gunicorn
    workers = env.integer("WEB_CONCURRENCY", 2, environ, minimum=1)
    return {
        "address": environ.get("GRANIAN_HOST", "").strip()
        or ("0.0.0.0" if platform_port else "127.0.0.1"),
        "port": env.integer("GRANIAN_PORT", env.integer("PORT", 8000, environ, minimum=1),
                            environ, minimum=1),
        "workers": env.integer("GRANIAN_WORKERS", workers, environ, minimum=1),
        "blocking_threads": env.integer("GRANIAN_BLOCKING_THREADS", 4, environ, minimum=1),
        "backlog": env.integer("GRANIAN_BACKLOG", 4096, environ, minimum=128),
    }


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # As gunicorn.conf.py does: every worker's metrics merged through one directory, emptied
    # at the start (a scrape would otherwise see whichever worker answered).
    own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own_metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dashboard-metrics-")
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()
    try:
        Granian("dashboard.wsgi:application", interface=Interfaces.WSGI, websockets=False,
                **options()).serve()
    finally:
        if own_metrics_dir:
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


if __name__ == "__main__":
    main()
