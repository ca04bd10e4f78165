"""The watch loop: evaluate every rule, deliver the outbox, wait one poll interval, again."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connections

from dashboard.polling import askers
from dashboard.voucherify.errors import VoucherifyError

from . import source
from .evaluate import evaluate
from .outbox import deliver_due

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    added: int
    sent: int
    failed: int
    problem: str | None = None  # why the actions could not be read (or judged) this time


class Worker:
    def __init__(self) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop = threading.Event()

    def interval(self) -> float:
        """ALERTS_POLL_INTERVAL, longer while the upstream budget asks pages to slow down."""
        return max(float(settings.ALERTS_POLL_INTERVAL), source.poll_interval())

    def run_once(self) -> Round:
        """Evaluate once and deliver what is due; an unreadable upstream skips evaluation
        only (the outbox is still delivered), a database fault the rest of the round."""
        try:
            return self._round()
        except (DatabaseError, InterfaceError) as exc:  # InterfaceError: a connection gone
            logger.exception("Alerts: the database failed this round; the next one tries again")
            # A connection the database dropped (a restart) stays broken: the next round
            # connects anew instead.
            connections.close_all()
            return Round(0, 0, 0, f"the database failed ({type(exc).__name__}: {exc})")

    def _round(self) -> Round:
        problem = None
        try:
            with askers.asking(purpose=askers.SYNC):  # background work's share of the budget
                added = evaluate()
        except VoucherifyError as exc:
            added, problem = 0, str(exc)
            logger.warning("Alerts: the actions could not be read this time: %s", exc)
        sent, failed = deliver_due(self.name, self.stop.is_set)
        return Round(added, sent, failed, problem)

    def run(self, report=None) -> None:
        """Until stop is set (SIGTERM, SIGINT): the delivery in flight is finished first."""
        while not self.stop.is_set():
            close_old_connections()  # a long-lived process: drop connections the DB closed
            result = self.run_once()
            if report is not None:
                report(result)
            self.stop.wait(self.interval())
