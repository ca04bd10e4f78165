"""`manage.py alerts add|list|remove`: configuration as code, one sentence and status 2 on bad
options; and `watch_actions` stopping cleanly on SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dashboard.alerts.models import Subscription

ROOT = Path(__file__).resolve().parent.parent


def alerts(*args: str) -> str:
    out = io.StringIO()
    call_command("alerts", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_add_list_and_remove():
    alerts("add", "--rule", "failed", "--email", "ops@example.com")
    alerts("add", "--rule", "failed-rows", "--min-failed", "1", "--webhook",
           "https://hooks.example.com/x", "--type", "CUSTOMERS.IMPORT_CSV")
    alerts("add", "--rule", "purge", "--audience", "auditor", "--apprise",
           "slack://TokenA/TokenB/TokenC")
    listing = alerts("list").splitlines()
    assert len(listing) == 3
    assert listing[1].split("\t")[1:6] == ["failed-rows", "CUSTOMERS.IMPORT_CSV", "≥1 rows",
                                          "webhook", "https://hooks.example.com/…"]
    assert "TokenB" not in alerts("list")
    first = Subscription.objects.get(rule="failed")
    assert "Removed subscription" in alerts("remove", str(first.id))
    assert Subscription.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "sentence"), [
    (["--rule", "nope", "--email", "a@example.com"], "There is no rule 'nope'"),
    (["--rule", "failed-rows", "--email", "a@example.com"], "needs a number of rows"),
    (["--rule", "failed-rows", "--min-failed", "0", "--email", "a@example.com"],
     "must be a number from 1"),
    (["--rule", "purge", "--email", "a@example.com"], "go to auditors and admins only"),
    (["--rule", "failed", "--share-percent", "5", "--email", "a@example.com"],
     "does not apply to failed alerts"),
    (["--rule", "failed", "--webhook", "ftp://x"], "is not an http(s) URL"),
    (["--rule", "failed", "--email", "a@example.com", "--context", "X"], "no context 'X'"),
])
def test_bad_options_get_one_sentence_and_status_2(args, sentence):
    with pytest.raises(CommandError) as raised:
        alerts("add", *args)
    assert raised.value.returncode == 2
    message = str(raised.value)
    assert sentence in message and message.count(". ") == 0 and message.endswith(".")
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_removing_an_unknown_subscription_is_status_2():
    with pytest.raises(CommandError) as raised:
        alerts("remove", "4242")
    assert raised.value.returncode == 2


def test_watch_actions_finishes_and_exits_on_sigterm(tmp_path, emulator_server):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("VOUCHERIFY_", "DJANGO_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DJANGO_DEBUG="1", DJANGO_SQLITE_PATH=str(tmp_path / "db.sqlite3"),
               VOUCHERIFY_API_URL=emulator_server.url, VOUCHERIFY_APP_ID="test-app-id",
               VOUCHERIFY_APP_TOKEN="test-app-token")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([*manage, "alerts", "add", "--rule", "failed", "--email", "a@example.com"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    worker = subprocess.Popen([*manage, "watch_actions"], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert "Watching async actions" in worker.stdout.readline()
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert output.strip().endswith("Stopped.")
