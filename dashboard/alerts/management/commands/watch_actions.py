"""`python manage.py watch_actions`: evaluate the alert rules and deliver alerts until stopped."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from dashboard.alerts.worker import Round, Worker


class Command(BaseCommand):
    help = ("Watch the async actions and send alerts: evaluates every rule once per poll "
            "interval and delivers the outbox, until SIGTERM or Ctrl-C.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="evaluate and deliver once, exit")

    def handle(self, *args, once: bool, **options) -> None:
        worker = Worker()
        if once:
            self._report(worker.run_once())
            return

        def stop(signum: int, frame: object) -> None:
            worker.stop.set()  # the loop ends after the delivery in flight

        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, stop)
        self.stdout.write(f"Watching async actions as {worker.name}; SIGTERM or Ctrl-C stops.")
        self.stdout.flush()  # a pipe (demo, systemd) would hold the line back
        worker.run(report=self._report)
        self.stdout.write("Stopped.")

    def _report(self, result: Round) -> None:
        if result.problem:
            self.stderr.write(f"Actions not read this time: {result.problem}")
        if result.added or result.sent or result.failed:
            self.stdout.write(f"{result.added} new alert(s), {result.sent} sent, "
                              f"{result.failed} failed attempt(s).")
        self.stdout.flush()
