"""`manage.py actions` at a terminal: a mistyped status costs no call; an error is one line."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("actions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("status", ["BOGUS", "running", "done,failed"])
def test_an_unknown_status_is_refused_before_any_upstream_call(emulator, status):
    emulator.clear_stats()
    with pytest.raises(CommandError, match="ENQUEUED, IN_PROGRESS, DONE, FAILED"):
        run("list", "--status", status)
    assert emulator.count() == 0


def test_a_known_status_in_any_case_still_filters(emulator):
    out, _ = run("list", "--limit", "2", "--status", " failed ")
    rows = out.splitlines()[1:]
    assert rows and all(" FAILED " in f" {row} " for row in rows)


@pytest.mark.parametrize(("args", "fault"), [
    (("show", "aa_0000000000000000"), {}),
    (("list",), {"error_rate": 1.0, "error_status": 503}),
    (("list",), {"drop_connection": True}),
])
def test_an_upstream_error_is_the_commands_one_line_not_log_lines_too(
    emulator, caplog, args, fault
):
    if fault:
        emulator.set_faults(**fault)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CommandError) as raised:
        run(*args)
    assert "\n" not in str(raised.value)
    noisy = [record for record in caplog.records if record.levelno >= logging.WARNING
             and record.name.startswith(("dashboard.voucherify", "urllib3"))]
    assert noisy == []
