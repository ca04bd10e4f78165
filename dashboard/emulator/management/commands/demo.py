"""`python manage.py demo`: the emulator, the dashboard and the alert worker together, stopped
by one Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from dashboard.emulator.ports import free_port, port_is_free, wait_for_port
from dashboard.emulator.stop_signals import interrupt_on_first
from dashboard.history.models import ArchivedAction, SyncState
from dashboard.voucherify.config import DEMO_APP_ID, DEMO_APP_TOKEN

CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"


def _ignore_ctrl_c() -> None:
    """Run in each child before it starts: Ctrl-C reaches every process of the terminal's
    group, and a child still starting (Python importing Django, seconds on a busy machine)
    would die of it with a traceback. The demo stops its children itself, with SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _answers(url: str, process: subprocess.Popen, seconds: float = 30) -> bool:
    """Whether `url` answers over HTTP (any status) before `process` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = ("Start the Voucherify emulator, the dashboard against it and the alert worker "
            "(Ctrl-C stops them all).")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000, help="dashboard port")
        parser.add_argument(
            "--emulator-port", type=int, default=8001, help="emulator port (another if busy)"
        )

    def handle(self, *args, port: int, emulator_port: int, **options) -> None:
        if not port_is_free(port):
            raise CommandError(f"Port {port} is in use; run `make demo PORT=<another port>`.")
        if not port_is_free(emulator_port):
            emulator_port = free_port()
        env = {
            **os.environ,
            "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
            "DASHBOARD_EMULATOR": "1",  # its `emulator` command serves the made-up project
            "VOUCHERIFY_API_URL": f"http://127.0.0.1:{emulator_port}",
            "VOUCHERIFY_APP_ID": DEMO_APP_ID,
            "VOUCHERIFY_APP_TOKEN": DEMO_APP_TOKEN,
        }
        for name in ("VOUCHERIFY_CLUSTER", "VOUCHERIFY_BEARER_TOKEN", "VOUCHERIFY_AUTH"):
            env.pop(name, None)
        manage = [sys.executable, "manage.py"]
        processes: list[subprocess.Popen] = []
        # A SIGTERM or a closed terminal stops both servers too, like Ctrl-C.
        interrupt_on_first(signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        try:
            emulator = subprocess.Popen(
                [*manage, "emulator", "--port", str(emulator_port)], env=env,
                preexec_fn=_ignore_ctrl_c,
            )
            processes.append(emulator)
            if not wait_for_port(emulator_port, emulator):
                raise CommandError("The emulator did not start; see its output above.")
            # The emulator makes its history up anew at each start (the same ids, times
            # relative to now): an archive of an earlier run's would disagree with it.
            ArchivedAction.objects.all().delete()
            SyncState.objects.all().delete()
            # Fill the archive so the overview and purge audit have history from the start.
            try:
                subprocess.run([*manage, "sync_actions", "--max-calls", "30"], env=env,
                               stdout=subprocess.DEVNULL, check=False, timeout=60,
                               preexec_fn=_ignore_ctrl_c)
            except subprocess.TimeoutExpired:
                self.stderr.write("History sync took too long; the overview starts empty.")
            logins = StringIO()  # made before the server starts: printed with the URL
            call_command("demo_users", stdout=logins)
            dashboard = subprocess.Popen(
                [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env,
                preexec_fn=_ignore_ctrl_c,
            )
            processes.append(dashboard)
            url = f"http://127.0.0.1:{port}/"
            if not wait_for_port(port, dashboard) or not _answers(url + "healthz", dashboard):
                raise CommandError("The dashboard did not start; see its output above.")
            # The alert worker beside it; its mails are printed here instead of sent.
            alerts_env = {**env, "DJANGO_EMAIL_BACKEND": CONSOLE_MAIL,
                          "ALERTS_DASHBOARD_URL": f"http://127.0.0.1:{port}"}
            processes.append(subprocess.Popen([*manage, "watch_actions"], env=alerts_env,
                                              preexec_fn=_ignore_ctrl_c))
            # Last and in one write, once the server answers: no banner or request log line
            # lands between the URL and the logins.
            self.stdout.write("\n".join([
                "",
                "Alerts: watch_actions runs beside it; subscribe at /alerts/, "
                "mails are printed here.",
                self.style.SUCCESS(f"Dashboard: {url}"),
                f"Emulated Voucherify API: http://127.0.0.1:{emulator_port}/",
                "Demo logins (username, password):",
                logins.getvalue().rstrip("\n"),
                "Press Ctrl-C to stop both.",
            ]))
            self.stdout.flush()
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            raise CommandError("A server stopped unexpectedly; see its output above.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping.")
        finally:
            # SIGTERM, not SIGINT: the children ignore SIGINT (_ignore_ctrl_c).
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
