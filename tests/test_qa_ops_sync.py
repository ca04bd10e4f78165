"""sync_actions stopped by a signal saves its position; upstream failures exit non-zero."""

from __future__ import annotations

import io
import os
import signal

import pytest
from django.core.management import CommandError, call_command

from dashboard.history.models import ArchivedAction, SyncState
from tests.history_helpers import LIST, archive

__all__ = ["archive"]  # fixture


class SignalAfterFirstPage(io.StringIO):
    """stdout that sends this process `signum` once the first page is archived, as cron's
    timeout or Ctrl-C would mid-run."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum, self.sent = signum, False

    def write(self, text: str) -> int:
        if "history: 1 page" in text and not self.sent:
            self.sent = True
            os.kill(os.getpid(), self.signum)
        return super().write(text)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_first_sync_keeps_its_position_and_the_next_run_resumes(archive, signum):
    previous = signal.getsignal(signum)
    with pytest.raises(CommandError, match="next run resumes from there"):
        call_command("sync_actions", "--max-calls", "50", stdout=SignalAfterFirstPage(signum))
    assert signal.getsignal(signum) == previous  # the command puts the handler back
    state = SyncState.load()
    assert state.lock_owner == ""  # released
    assert state.covered_to is not None and state.resume_cursor  # the position is saved
    assert archive.count(endpoint=LIST) == 1  # it stopped after the call in flight
    first_oldest = state.covered_from

    out = io.StringIO()
    call_command("sync_actions", "--max-calls", "30", stdout=out)
    # It catches up on the newest page, then goes on older than where the first run stopped.
    assert "catching up" in out.getvalue()
    assert SyncState.load().covered_from < first_oldest
    assert ArchivedAction.objects.count() > 100


@pytest.mark.parametrize("fault", [
    {"error_rate": 1.0}, {"error_rate": 1.0, "error_status": 500}, {"drop_connection": True},
    {"malformed_json": True}, {"force_429": True},
])
def test_a_sync_stopped_by_an_upstream_fault_exits_non_zero_with_one_line(archive, fault):
    archive.set_faults(**fault)
    out = io.StringIO()
    with pytest.raises(CommandError, match="^Stopped early: ") as raised:
        call_command("sync_actions", "--max-calls", "3", stdout=out)
    assert "\n" not in str(raised.value)
    assert "done: 0 page(s)" in out.getvalue()
    assert SyncState.load().lock_owner == ""
