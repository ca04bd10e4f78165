"""Work a request sets going that its answer does not wait for, started once the answer is sent.

A thread started while a page still renders takes the GIL, and on a busy machine a core, from
that render: a big result's rows stored by rows_later.py made the first read of its detail page
a third slower. Started when Django's request_finished fires instead (a WSGI server closes the
response once its body is sent) it costs the page nothing. Outside a request (commands, threads
of their own) the work starts at once. Connected by HistoryConfig.ready().

Work that fails is logged and the rest still runs: it runs inside Django's request_finished,
whose later receivers (closing the request's database connection) an exception would skip.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished, request_started

logger = logging.getLogger(__name__)
_serving = threading.local()  # .pending: what this thread's request put off; None outside one


def run(start: Callable[[], None]) -> None:
    """`start()` now outside a request, else once this thread's request has answered."""
    pending = getattr(_serving, "pending", None)
    if pending is None:
        start()
    else:
        pending.append(start)


def _request_started(**kwargs: object) -> None:
    _run_pending()  # a request whose response was never closed: its work is not lost
    _serving.pending = []


def _request_finished(**kwargs: object) -> None:
    _run_pending()


def _run_pending() -> None:
    pending = getattr(_serving, "pending", None)
    _serving.pending = None
    for start in pending or ():
        try:
            start()
        except Exception:
            logger.exception("Work put off until a request had answered failed")


STARTED_UID, FINISHED_UID = "history-after-response-started", "history-after-response-finished"


def connect() -> None:
    request_started.connect(_request_started, dispatch_uid=STARTED_UID)
    request_finished.connect(_request_finished, dispatch_uid=FINISHED_UID)
