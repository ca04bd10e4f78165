"""`make demo`'s command: emulator plus dashboard, the login page served, Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashboard.emulator.management.commands.demo import free_port, port_is_free

ROOT = Path(__file__).resolve().parent.parent


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


class RunningDemo:
    """`manage.py demo` on free ports, started and waited for until it prints its logins."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port, self.emulator_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(self.port),
             "--emulator-port", str(self.emulator_port)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
