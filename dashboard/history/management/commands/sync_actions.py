"""`python manage.py sync_actions [--since DATE] [--max-calls N]`: backfill the archive."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.actions.upstream import get_client
from dashboard.history.state import acquire_lock, lock_holder, release_lock
from dashboard.history.sync import Progress, Sync
from dashboard.voucherify.dates import parse_user_datetime

DEFAULT_MAX_CALLS = 100


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise CommandError(f"--max-calls must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def describe(progress: Progress) -> str:
    oldest = progress.oldest.strftime("%Y-%m-%d %H:%M UTC") if progress.oldest else "—"
    return (
        f"{progress.phase}: {progress.pages} page(s), {progress.archived} action(s) archived, "
        f"{progress.details} detail(s), {progress.calls} call(s), oldest reached {oldest}"
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Archive async actions from Voucherify, newest to oldest, within a call cap; "
        "resumes where the last run stopped. Safe to run from cron: a second run at the same "
        "time exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Go back no further than this date (2026-01-31).")
        parser.add_argument(
            "--max-calls", default=str(DEFAULT_MAX_CALLS),
            help=f"Upstream calls this run may make (default {DEFAULT_MAX_CALLS}).",
        )

    def handle(self, *args, since: str | None, max_calls: str, **options) -> None:
        cap = _positive(str(max_calls))
        since_moment: datetime | None = None
        if since:
            try:
                since_moment = parse_user_datetime(since)
            except ValueError as exc:
                raise CommandError(f"--since: {exc}") from None
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if not acquire_lock(owner):
            holder = lock_holder()
            until = holder[1].strftime("%H:%M:%S UTC") if holder else "soon"
            self.stderr.write(
                f"Another sync_actions run ({holder[0] if holder else 'unknown'}) is in "
                f"progress (its lock lapses at {until}); this run exits without a call."
            )
            return
        tty = self.stdout.isatty()
        # Stopped by cron's timeout or a service manager: release the lock on the way out.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            progress = Sync(
                get_client(), max_calls=cap, since=since_moment,
                on_progress=lambda p: self._show(p, tty),
                keep_lock=lambda: acquire_lock(owner),
            ).run()
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted; what was archived is kept and the next run resumes from there."
            ) from None
        finally:
            release_lock(owner)
        if tty:
            self.stdout.write("")
        if progress.problem:
            self.stderr.write(f"Stopped early: {progress.problem}")
        self.stdout.write(self.style.SUCCESS(describe(progress)))

    def _show(self, progress: Progress, tty: bool) -> None:
        if progress.phase == "done":
            return
        if tty:
            self.stdout.write("\r" + describe(progress).ljust(110), ending="")
            self.stdout.flush()
        else:
            self.stdout.write(describe(progress))
