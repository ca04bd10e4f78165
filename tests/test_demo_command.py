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


def test_demo_serves_the_login_page_and_one_ctrl_c_stops_both(demo_env):
    port, emulator_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port),
         "--emulator-port", str(emulator_port)],
        cwd=ROOT, env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        output = "".join(wait_for_line(process, "Press Ctrl-C"))
        assert f"http://127.0.0.1:{port}/" in output
        for role in ("operator", "support", "auditor", "admin"):
            assert role in output  # the demo logins are printed
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as response:
            assert response.status == 200
            assert b"id_username" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (port_is_free(port) and port_is_free(emulator_port)):
        time.sleep(0.2)
    assert port_is_free(port) and port_is_free(emulator_port)


def test_demo_stopped_by_sigterm_leaves_no_server_behind(demo_env):
    port, emulator_port = free_port(), free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port),
         "--emulator-port", str(emulator_port)],
        cwd=ROOT, env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for_line(process, "Press Ctrl-C")
    finally:
        process.terminate()
        process.wait(timeout=20)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (port_is_free(port) and port_is_free(emulator_port)):
        time.sleep(0.2)
    assert port_is_free(port) and port_is_free(emulator_port)


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
