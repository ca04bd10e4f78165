"""`python manage.py emulator`: serve the Voucherify-compatible emulator until Ctrl-C."""

from __future__ import annotations

import os
import signal

from django.core.management.base import BaseCommand, CommandError

from dashboard.emulator.seed import DEFAULT_SEED
from dashboard.emulator.server import EmulatorServer
from dashboard.emulator.stop_signals import interrupt_on_first
from dashboard.voucherify.config import DEMO_APP_ID, DEMO_APP_TOKEN


class Command(BaseCommand):
    help = (
        "Serve a Voucherify-compatible async-actions API (seeded history, live actions, "
        "rate limits, injectable faults). Keys: VOUCHERIFY_APP_ID / VOUCHERIFY_APP_TOKEN, "
        f"default {DEMO_APP_ID} / {DEMO_APP_TOKEN}."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--rate-limit", type=int, default=6000,
                            help="API requests allowed per minute (default 6000)")
        parser.add_argument("--live-every", type=float, default=60,
                            help="seconds between arriving live actions; 0 disables them")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--verbose-requests", action="store_true",
                            help="log every request to stderr")

    def handle(self, *args, **options) -> None:
        try:
            server = EmulatorServer(
                host=options["host"], port=options["port"],
                app_id=os.environ.get("VOUCHERIFY_APP_ID") or DEMO_APP_ID,
                app_token=os.environ.get("VOUCHERIFY_APP_TOKEN") or DEMO_APP_TOKEN,
                rate_limit=options["rate_limit"], seed=options["seed"],
                live_every=options["live_every"], verbose=options["verbose_requests"],
            )
        except OSError as exc:  # a busy port or an address this machine does not have
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror}."
            ) from None
        # Handled from here to the exit: a signal sent as soon as the "listening" line is
        # read can arrive while the line is still being written.
        interrupt_on_first(signal.SIGINT, signal.SIGTERM)
        try:
            self.stdout.write(f"Voucherify emulator listening on {server.url}", ending="\n")
            self.stdout.flush()
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Voucherify emulator stopped.")
