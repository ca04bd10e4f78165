"""What the alert worker costs in upstream calls: `watch_actions` alone against the emulator.

Starts the emulator (a new action every E seconds, each 20-90 s long, some FAILED) and
`manage.py watch_actions` with a private SQLite database, subscriptions to every rule but
purge, and mails on the console; nobody views the dashboard, so every call is the worker's.
Prints the calls per endpoint, calls per minute and alerts sent; the last line is JSON.

    .venv/bin/python bench/alerts_cost.py [--seconds 120] [--interval 15] [--live-every 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.emulator.control import EmulatorControl  # noqa: E402
from dashboard.emulator.ports import free_port, wait_for_port  # noqa: E402
from dashboard.voucherify.config import DEMO_APP_ID, DEMO_APP_TOKEN  # noqa: E402

SUBSCRIPTIONS = (
    ["--rule", "failed", "--email", "ops@example.com"],
    ["--rule", "failed-rows", "--min-failed", "1", "--email", "support@example.com",
     "--audience", "support"],
    ["--rule", "stuck", "--stuck-minutes", "1", "--email", "ops@example.com"],
    ["--rule", "failure-share", "--share-percent", "10", "--hours", "1", "--email",
     "ops@example.com"],
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--interval", type=float, default=15, help="ALERTS_POLL_INTERVAL")
    parser.add_argument("--live-every", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("VOUCHERIFY_", "DJANGO_", "REDIS_URL", "DATABASE_URL"))}
        env.update(DJANGO_DEBUG="1", DJANGO_SQLITE_PATH=f"{folder}/db.sqlite3",
                   VOUCHERIFY_API_URL=f"http://127.0.0.1:{port}", VOUCHERIFY_APP_ID=DEMO_APP_ID,
                   VOUCHERIFY_APP_TOKEN=DEMO_APP_TOKEN, ALERTS_POLL_INTERVAL=str(args.interval),
                   DJANGO_EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend",
                   DJANGO_LOG_LEVEL="ERROR")
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        for options in SUBSCRIPTIONS:
            subprocess.run([*manage, "alerts", "add", *options], cwd=ROOT, env=env, check=True,
                           capture_output=True)
        emulator = subprocess.Popen(
            [*manage, "emulator", "--port", str(port), "--live-every", str(args.live_every)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not wait_for_port(port, emulator):
                raise SystemExit("The emulator did not start.")
            control = EmulatorControl(f"http://127.0.0.1:{port}")
            control.clear_stats()
            worker = subprocess.Popen([*manage, "watch_actions"], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                output, _ = worker.communicate(timeout=args.seconds)
            except subprocess.TimeoutExpired:
                worker.send_signal(signal.SIGTERM)
                output, _ = worker.communicate(timeout=60)
            stats = control.stats()
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    calls = {f"{row['method']} {row['endpoint']}": row["count"] for row in stats["requests"]}
    figures = {
        "seconds": args.seconds, "alerts_poll_interval": args.interval,
        "calls": stats["total"], "calls_per_minute": round(stats["total"] * 60 / args.seconds, 1),
        "by_endpoint": calls, "alerts_sent": output.count("Subject: [Voucherify alert]"),
    }
    for name, count in calls.items():
        print(f"{count:6d}  {name}")
    print(f"{figures['calls_per_minute']} upstream calls a minute; "
          f"{figures['alerts_sent']} alerts sent in {args.seconds:g} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
