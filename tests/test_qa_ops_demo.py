"""`make demo` stops cleanly: Ctrl-C to the terminal's group, and SIGTERM when started with `&`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from dashboard.emulator.management.commands.demo import free_port
from tests.test_demo_command import ROOT, wait_for_line


@pytest.fixture
def demo_env(tmp_path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("VOUCHERIFY_", "DJANGO_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DJANGO_DEBUG="1", DJANGO_SQLITE_PATH=str(tmp_path / "demo.sqlite3"))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def start_demo(env: dict, sigint: signal.Handlers) -> subprocess.Popen:
    def child_setup() -> None:
        os.setsid()  # its own process group, like a terminal's foreground job
        signal.signal(signal.SIGINT, sigint)

    return subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(free_port()),
         "--emulator-port", str(free_port())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=child_setup,
    )


def stop_and_read(process: subprocess.Popen, send) -> str:
    try:
        wait_for_line(process, "Press Ctrl-C")
        send()
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return output


def test_ctrl_c_reaching_every_process_stops_the_demo_without_a_traceback(demo_env):
    process = start_demo(demo_env, signal.SIG_DFL)
    output = stop_and_read(process, lambda: os.killpg(process.pid, signal.SIGINT))
    assert "Traceback" not in output
    assert "Voucherify emulator stopped." in output


def test_demo_started_in_the_background_stops_its_servers_on_sigterm(demo_env):
    # `make demo &` starts it with SIGINT ignored; its servers must still stop on request
    # rather than be killed after a timeout.
    process = start_demo(demo_env, signal.SIG_IGN)
    output = stop_and_read(process, process.terminate)
    assert "Voucherify emulator stopped." in output
    assert "Traceback" not in output


def test_emulator_given_two_stop_signals_at_once_exits_cleanly():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings_test"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "emulator", "--port", "0", "--live-every", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "listening" in process.stdout.readline()
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "Voucherify emulator stopped." in out


def test_make_demo_keeps_its_own_database_apart_from_make_serves():
    # Its users have public passwords; db.sqlite3 is what `make serve` runs on.
    commands = subprocess.run(
        ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    django_lines = [line for line in commands.splitlines() if "manage.py" in line]
    assert django_lines and all("DJANGO_SQLITE_PATH=demo.sqlite3" in line
                                for line in django_lines)


STALE = """
from datetime import UTC, datetime
from dashboard.history.models import ArchivedAction, SyncState
old = datetime(2020, 1, 1, tzinfo=UTC)
ArchivedAction.objects.create(id="aa_stale0000000000001", type="VOUCHERS.IMPORT",
    context="VOUCHERS", status="DONE", created_at=old, first_seen=old, last_synced=old)
SyncState.objects.create(pk=1, covered_to=old, covered_from=old, bottom_reached=True)
"""
COUNT = """
from dashboard.history.models import ArchivedAction, SyncState
print(ArchivedAction.objects.filter(pk="aa_stale0000000000001").count(),
      SyncState.load().covered_to.year)
"""


def test_the_demo_archive_starts_over_with_the_emulators_new_history(demo_env):
    def shell(code: str) -> str:
        return subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                              env=demo_env, capture_output=True, text=True, check=True).stdout

    shell(STALE)  # what an earlier demo run, against an earlier emulator, left behind
    process = start_demo(demo_env, signal.SIG_DFL)
    stop_and_read(process, process.terminate)
    stale_rows, covered_year = shell(COUNT).splitlines()[-1].split()
    assert stale_rows == "0"
    assert covered_year != "2020"  # synced afresh from this run's emulator
