"""`python manage.py sync_actions [--since DATE] [--max-calls N]`: backfill the archive."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.history.prune import Pruned, prune
from dashboard.history.state import acquire_lock, lock_holder, release_lock
from dashboard.history.sync import Progress, Sync
from dashboard.polling.gate import get_client
from dashboard.voucherify.dates import parse_user_datetime

DEFAULT_MAX_CALLS = 100


def _positive(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # "²" is a digit to isdigit
        raise CommandError(f"--max-calls must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def describe(progress: Progress) -> str:
    oldest = progress.oldest.strftime("%Y-%m-%d %H:%M UTC") if progress.oldest else "—"
    return (
        f"{progress.phase}: {progress.pages} page(s), {progress.archived} action(s) archived, "
        f"{progress.details} detail(s), {progress.calls} call(s), oldest reached {oldest}"
    )


def describe_prune(pruned: Pruned) -> str:
    cutoff = pruned.cutoff.strftime("%Y-%m-%d %H:%M UTC") if pruned.cutoff else "—"
    said = f"Retention: {pruned.deleted} action(s) created before {cutoff} pruned."
    return f"{said} Stopped early: {pruned.stopped}; the next run goes on." if pruned.stopped \
        else said


class StopRequest:
    """Ctrl-C or SIGTERM (cron's timeout, a service manager): the first asks the run to stop
    after the call in flight and save its position; a second one stops it at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for stop_signal in self.SIGNALS:
            self._previous[stop_signal] = signal.signal(stop_signal, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for stop_signal, handler in self._previous.items():
            signal.signal(stop_signal, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


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
        try:
            pruned = prune(keep_lock=lambda: acquire_lock(owner))
            if pruned.deleted:
                self.stdout.write(describe_prune(pruned))
            with StopRequest() as stop:
                progress = Sync(
                    get_client(), max_calls=cap, since=since_moment,
                    on_progress=lambda p: self._show(p, tty),
                    keep_lock=lambda: acquire_lock(owner),
                    should_stop=lambda: stop.requested,
                ).run()
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted twice, so at once: what was archived is kept, but this run's "
                "position is not saved and the next run walks its pages again."
            ) from None
        finally:
            release_lock(owner)
        if tty:
            self.stdout.write("")
        if progress.problem and not progress.upstream_failed:
            self.stderr.write(f"Stopped early: {progress.problem}")
        summary = describe(progress)
        self.stdout.write(summary if progress.problem else self.style.SUCCESS(summary))
        if progress.upstream_failed:  # a non-zero exit, so cron and its monitors notice
            raise CommandError(f"Stopped early: {progress.problem}")
        if stop.requested:
            raise CommandError(
                "Interrupted; what was archived is kept and the next run resumes from there."
            )

    def _show(self, progress: Progress, tty: bool) -> None:
        if progress.phase == "done":
            return
        if tty:
            self.stdout.write("\r" + describe(progress).ljust(110), ending="")
            self.stdout.flush()
        else:
            summary = describe(progress)
        self.stdout.write(summary if progress.problem else self.style.SUCCESS(summary))
