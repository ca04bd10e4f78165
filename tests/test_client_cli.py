"""`manage.py actions list|show`: the client at a terminal, for support staff; a mistyped
status costs no call and an error is one line."""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.voucherify import VoucherifyClient

LIST = "/v1/async-actions"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("actions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_list_prints_the_newest_actions_in_one_call(emulator):
    newest = VoucherifyClient(emulator.config).list_actions(limit=5).actions
    emulator.clear_stats()
    out, err = run("list", "--limit", "5")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "PROGRESS", "CREATED", "(UTC)"]
    assert [line.split()[0] for line in lines[1:6]] == [a.id for a in newest]
    assert emulator.count(endpoint=LIST) == 1
    assert "Rate limit:" in err


def test_list_filters_by_status_and_type(emulator):
    out, _ = run("list", "--limit", "3", "--status", "failed")
    rows = out.splitlines()[1:]
    assert rows and all(" FAILED " in f" {row} " for row in rows)
    out, _ = run("list", "--limit", "4", "--type", "vouchers")
    rows = out.splitlines()[1:]
    assert rows and all(row.split()[1].startswith("VOUCHERS.") for row in rows)


def test_list_says_when_nothing_matches_and_stops_at_its_call_cap(emulator):
    out, _ = run("list", "--type", "NO.SUCH_TYPE")
    assert "No async actions match." in out
    assert emulator.count(endpoint=LIST) <= 10


def test_show_prints_an_action_with_its_result(emulator):
    created = emulator.insert_action({
        "id": "aa_cli0000000000001", "type": "VOUCHERS.IMPORT_CSV", "status": "DONE",
        "created_at": "2026-01-05T10:00:00.000Z", "updated_at": "2026-01-05T10:00:02.000Z",
        "request_id": "v-cli", "progress": 100, "processing_time": 2000,
        "result": {
            "message": "1 imported, 1 failed.", "done_count": 1, "failed_count": 1,
            "failed": [{"code": "FALL2023", "row": 1, "reason": "Voucher Type is required"}],
        },
        "object": "async_action",
    })
    out, _ = run("show", created["id"])
    assert "aa_cli0000000000001" in out
    assert "Voucher CSV import" in out
    assert "Done / failed:    1 / 1" in out
    assert "row 1, code FALL2023: Voucher Type is required" in out


@pytest.mark.parametrize(
    ("user", "shown"),
    [({"id": "user_1", "email": "ada@example.com"}, "ada@example.com"),
     ({"id": "user_2", "username": "ops-bot"}, "ops-bot"),
     ("grace", "grace")],
)
def test_show_names_who_started_it_as_the_purge_audit_does(emulator, user, shown):
    created = emulator.insert_action({
        "id": "aa_cli0000000000002", "type": "VOUCHERS.METADATA_KEY_PURGE", "status": "DONE",
        "created_at": "2026-01-05T10:00:00.000Z", "user": user, "object": "async_action",
    })
    out, _ = run("show", created["id"])
    assert f"Started by:       {shown}\n" in out


def test_show_json_prints_the_raw_object(emulator):
    action = VoucherifyClient(emulator.config).list_actions(limit=1).actions[0]
    out, _ = run("show", action.id, "--json")
    assert json.loads(out)["id"] == action.id


@pytest.mark.parametrize(
    ("action_id", "message"),
    [("../etc/passwd", "not an async action id"), ("aa_0000000000000000", "")],
)
def test_show_reports_bad_or_unknown_ids_as_a_command_error(emulator, action_id, message):
    with pytest.raises(CommandError) as caught:
        run("show", action_id)
    assert message in str(caught.value)


def test_upstream_faults_are_one_line_errors(emulator):
    emulator.set_faults(force_429=True, retry_after=30)
    with pytest.raises(CommandError, match="retry in 30 s"):
        run("list")


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
