"""`python manage.py prune_archive`: apply ARCHIVE_RETENTION_DAYS now (sync_actions does it
at the start of every run too)."""

from __future__ import annotations

import os
import socket
import uuid

from django.core.management.base import BaseCommand, CommandError

from dashboard.history.management.commands.sync_actions import describe_prune
from dashboard.history.prune import prune
from dashboard.history.state import acquire_lock, release_lock


class Command(BaseCommand):
    help = (
        "Delete archived actions older than ARCHIVE_RETENTION_DAYS, in batches, keeping the "
        "overview's counts and the archive's covered range true. Does nothing when the "
        "setting is 0 (keep forever)."
    )

    def handle(self, *args, **options) -> None:
        owner = f"prune:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if not acquire_lock(owner):  # a sync saving its covered range would undo ours
            raise CommandError("A sync_actions run holds the archive's lock; try again later.")
        try:
            pruned = prune(keep_lock=lambda: acquire_lock(owner))
        finally:
            release_lock(owner)
        if pruned.cutoff is None:
            self.stdout.write("ARCHIVE_RETENTION_DAYS is 0: the archive keeps everything.")
        else:
            style = self.style.WARNING if pruned.stopped else self.style.SUCCESS
            self.stdout.write(style(describe_prune(pruned)))
