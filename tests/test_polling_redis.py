"""Two dashboard processes share one budget and one cache through a real Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.fixtures.emulator import TEST_APP_ID, TEST_APP_TOKEN
from tests.helpers.repo import ROOT
from tests.helpers.services import RedisServer

CAP = 6

# Each process reads one action both want, then ten of its own: far more than the budget.
WORKER = """
import json, os, time
import django
django.setup()
from dashboard.polling import reads as upstream
from dashboard.voucherify.errors import VoucherifyError

shared, own = json.loads(os.environ["POLLING_TEST_IDS"])
time.sleep(max(0.0, float(os.environ["POLLING_TEST_START"]) - time.time()))
outcome = {"shared": upstream.fetch_action(shared).value.id, "served": 0, "refused": 0}
for action_id in own:
    try:
        upstream.fetch_action(action_id)
        outcome["served"] += 1
    except VoucherifyError:
        outcome["refused"] += 1
print(json.dumps(outcome))
"""


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server on a free port (it fails, never skips, when not installed)."""
    server = RedisServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


def _terminal_ids(emulator, count: int) -> list[str]:
    page = emulator.api("/v1/async-actions?limit=100").json()["async_actions"]
    return [a["id"] for a in page if a["status"] in ("DONE", "FAILED")][:count]


@pytest.fixture
def worker_database(tmp_path) -> str:
    """A database of the workers' own: never the developer's db.sqlite3, whose archive would
    serve actions without an upstream call (and which the workers would write to)."""
    path = str(tmp_path / "workers.sqlite3")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings_test",
           "DJANGO_SQLITE_PATH": path}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    return path


def test_two_processes_share_one_budget_through_redis(emulator, redis_url, worker_database):
    ids = _terminal_ids(emulator, 21)
    emulator.clear_stats()
    start = time.time() + 3  # both processes past Django's start-up, then off together
    workers = []
    for own in (ids[1:11], ids[11:21]):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings_test",
            "DJANGO_SQLITE_PATH": worker_database,
            "REDIS_URL": redis_url,
            "VOUCHERIFY_API_URL": emulator.url,
            "VOUCHERIFY_APP_ID": TEST_APP_ID,
            "VOUCHERIFY_APP_TOKEN": TEST_APP_TOKEN,
            "VOUCHERIFY_CALLS_PER_MINUTE": str(CAP),
            "VOUCHERIFY_BUDGET_RESERVE": "0",
            "POLLING_TEST_IDS": json.dumps([ids[0], own]),
            "POLLING_TEST_START": str(start),
        }
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err[-2000:]
        outcomes.append(json.loads(out.strip().splitlines()[-1]))

    calls = emulator.count()
    assert all(outcome["shared"] == ids[0] for outcome in outcomes)
    assert 1 < calls <= CAP, f"{calls} upstream calls for a shared budget of {CAP}"
    served = sum(outcome["served"] for outcome in outcomes)
    assert served == calls - 1  # the shared action cost one call for both processes
    assert sum(outcome["refused"] for outcome in outcomes) == 20 - served
