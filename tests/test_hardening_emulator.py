"""The emulator's control API takes big actions, and created ids never repeat across runs."""

from __future__ import annotations

from datetime import UTC, datetime

from dashboard.emulator.server import EmulatorServer
from tests.fixtures.emulator import TEST_APP_ID, TEST_APP_TOKEN, EmulatorHandle

FAILED_ROWS = 100_000


def test_the_control_api_takes_an_action_with_100000_failed_rows(emulator):
    failed = [{"code": "not_found", "source_id": f"cust_{n:06d}", "row": n,
               "reason": f"Customer cust_{n:06d} does not exist"} for n in range(FAILED_ROWS)]
    emulator.insert_action({
        "id": "aa_0c0000000000b16001", "type": "CUSTOMERS.IMPORT_CSV", "status": "DONE",
        "progress": 100, "created_at": datetime.now(UTC).isoformat(),
        "result": {"done_count": 0, "failed_count": FAILED_ROWS, "failed": failed},
    })
    served = emulator.api("/v1/async-actions/aa_0c0000000000b16001").json()
    assert len(served["result"]["failed"]) == FAILED_ROWS
    assert served["result"]["failed"][-1]["row"] == FAILED_ROWS - 1


def test_created_ids_never_repeat_across_runs_of_the_same_seed():
    """A restarted emulator must not hand out an id an archive may still hold."""
    ids = []
    for _ in range(2):
        server = EmulatorServer(app_id=TEST_APP_ID, app_token=TEST_APP_TOKEN, live_every=0)
        server.start()
        try:
            control = EmulatorHandle(server.url, TEST_APP_ID, TEST_APP_TOKEN)
            ids += [control.create_action("VOUCHERS.IMPORT")["id"] for _ in range(3)]
        finally:
            server.stop()
    assert len(set(ids)) == 6
    assert all(len(action_id) == len("aa_0c5543f00797b6113f") for action_id in ids)
