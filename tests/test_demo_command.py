"""`make demo`'s command: emulator plus dashboard, the login page served, Ctrl-C stops both;
it stops cleanly on Ctrl-C to the group, on SIGTERM when started with `&`, and on two
signals at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from dashboard.emulator import stop_signals
from dashboard.emulator.ports import free_port, port_is_free
from tests.helpers.repo import ROOT


@pytest.fixture
def demo_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VOUCHERIFY_", "DJANGO_", "REDIS_URL", "DATABASE_URL"))
    }
    env.update(DJANGO_DEBUG="1", DJANGO_SQLITE_PATH=str(tmp_path / "demo.sqlite3"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )
    return env


def wait_for_line(process: subprocess.Popen, text: str, seconds: float = 60) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed; output:\n{''.join(lines)}")


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class RunningDemo:
    """`manage.py demo` on free ports, started and waited for until it prints its logins."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port, self.emulator_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(self.port),
             "--emulator-port", str(self.emulator_port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            # As a terminal's foreground job has it, whatever the test runner's: a runner
            # started in the background ignores SIGINT, and the demo would inherit that.
            preexec_fn=_ctrl_c_as_in_a_terminal,
        )
        self.output = "".join(wait_for_line(self.process, "Press Ctrl-C"))

    def stop(self, stop_signal: int) -> None:
        self.process.send_signal(stop_signal)
        self.process.wait(timeout=20)

    def ports_freed(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if port_is_free(self.port) and port_is_free(self.emulator_port):
                return True
            time.sleep(0.2)
        return False


@pytest.fixture
def demo(demo_env):
    running = RunningDemo(demo_env)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_demo_serves_the_login_page_and_one_ctrl_c_stops_both(demo):
    assert f"http://127.0.0.1:{demo.port}/" in demo.output
    for role in ("operator", "support", "auditor", "admin"):
        assert role in demo.output  # the demo logins are printed
    with urllib.request.urlopen(f"http://127.0.0.1:{demo.port}/accounts/login/") as response:
        assert response.status == 200
        assert b"id_username" in response.read()
    demo.stop(signal.SIGINT)
    assert demo.ports_freed()


def test_demo_prints_the_url_and_logins_last_and_together(demo):
    lines = demo.output.splitlines()
    start = next(i for i, line in enumerate(lines) if "Dashboard: http://" in line)
    block = lines[start:]
    assert block[-1] == "Press Ctrl-C to stop both."  # the last thing printed
    assert "Emulated Voucherify API" in block[1] and "Demo logins" in block[2]
    logins = block[3:-1]
    assert sorted(line.split()[0] for line in logins) == ["admin", "auditor", "operator", "support"]
    assert not any("HTTP/1.1" in line or "GET /" in line for line in block)  # no request log
    demo.stop(signal.SIGINT)


def test_demo_stopped_by_sigterm_leaves_no_server_behind(demo):
    demo.stop(signal.SIGTERM)
    assert demo.ports_freed()


def ignored_signals(pid: int) -> int:
    """The process's mask of ignored signals (Linux: /proc/PID/status, SigIgn)."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("SigIgn:"))
    return int(line.split()[1], 16)


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def test_the_demos_servers_leave_ctrl_c_to_the_demo_which_stops_them(demo):
    """Ctrl-C reaches every process of the terminal's group: a server still starting (a busy
    machine takes seconds to import Django) died of it with a traceback. Each child ignores
    SIGINT from its first instruction on; the demo stops them itself."""
    children = children_of(demo.process.pid)
    assert len(children) == 3  # the emulator, the dashboard, the alert worker
    for child in children:
        assert ignored_signals(child) & 1 << (signal.SIGINT - 1), child
    demo.stop(signal.SIGINT)
    assert demo.ports_freed()


def test_demo_refuses_a_busy_port_with_a_sentence(demo_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=ROOT, env=demo_env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode != 0
    assert f"Port {port} is in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_starts_the_alert_worker_with_mails_on_the_console(demo):
    assert "mails are printed here" in demo.output
    if "Watching async actions" not in demo.output:  # the worker may print after the logins
        wait_for_line(demo.process, "Watching async actions")
    demo.stop(signal.SIGTERM)
    assert demo.ports_freed()
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


def test_after_the_first_stop_signal_the_others_are_absorbed_then_ignored_at_exit(
    monkeypatch,
):
    """Later signals are absorbed while the command cleans up; at exit the system ignores
    them, since Python puts its handlers back to the default action while it shuts down."""
    first, second = signal.SIGUSR1, signal.SIGUSR2  # not pytest's own SIGINT
    kept = {number: signal.getsignal(number) for number in (first, second)}
    at_exit = []
    monkeypatch.setattr(stop_signals.atexit, "register",
                        lambda function, *args: at_exit.append((function, args)))
    try:
        stop_signals.interrupt_on_first(first, second)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), first)
            time.sleep(1)  # the handler runs at the next bytecode; never waits this long
        os.kill(os.getpid(), second)  # absorbed: no second KeyboardInterrupt
        os.kill(os.getpid(), first)
        time.sleep(0.1)
        assert at_exit == [(stop_signals.ignore_stop_signals, ([first, second],))]
        os.kill(os.getpid(), second)  # on its way as the process exits
        stop_signals.ignore_stop_signals([first, second])
        assert signal.getsignal(first) is signal.SIG_IGN
        assert signal.getsignal(second) is signal.SIG_IGN
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)
