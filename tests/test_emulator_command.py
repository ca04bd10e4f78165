"""`python manage.py emulator` serves until SIGTERM and reads its keys from the environment."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from django.core.management import CommandError, call_command

from tests.helpers.repo import ROOT


def test_command_serves_and_stops_cleanly_on_sigterm():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings_test",
           "VOUCHERIFY_APP_ID": "cmd-id", "VOUCHERIFY_APP_TOKEN": "cmd-token"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "emulator", "--port", "0", "--live-every", "0",
         "--rate-limit", "77"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("Voucherify emulator listening on http://127.0.0.1:"), (
            line, process.stderr.read() if process.poll() is not None else "")
        url = line.rsplit(" ", 1)[1]
        request = urllib.request.Request(
            f"{url}/v1/async-actions?limit=2",
            headers={"X-App-Id": "cmd-id", "X-App-Token": "cmd-token"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(json.loads(response.read())["async_actions"]) == 2
            assert response.headers["X-Rate-Limit-Limit"] == "77"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_a_busy_port_is_a_one_line_command_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot listen on 127.0.0.1:{port}: .*in use"):
            call_command("emulator", "--port", str(port))
