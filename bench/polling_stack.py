"""The processes bench/polling.py runs: Redis, the emulator, the dashboard under gunicorn (or
granian: `--server granian`)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench.polling_viewers import PANEL, poll_path
from dashboard.emulator.control import EmulatorControl
from dashboard.emulator.ports import free_port, port_is_free, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
APP_ID, APP_TOKEN = "bench-app-id", "bench-app-token"
USERNAME, PASSWORD = "bench-admin", "bench-" + secrets.token_hex(12)


def wait_for(port: int, process: subprocess.Popen, what: str, seconds: float = 30) -> None:
    if wait_for_port(port, process, seconds):
        return
    if process.poll() is not None:
        raise SystemExit(f"{what} exited at start (status {process.returncode}).")
    raise SystemExit(f"{what} did not listen on port {port} within {seconds:.0f} s.")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _database_dir(workdir: Path) -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="bench-polling-db-", dir=shm))
    return workdir


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs) -> None:
        return None


class Stack:
    """Everything a run needs, started once; the dashboard is restarted per polling mode."""

    def __init__(self, workdir: Path, interval: float, server: str = "gunicorn",
                 database_url: str | None = None) -> None:
        self.workdir = workdir
        self.server = server
        self.database_note = "PostgreSQL" if database_url else "SQLite in RAM"
        self.processes: list[subprocess.Popen] = []
        self.dashboard: subprocess.Popen | None = None
        self.redis_note = ""
        self.emulator_port = free_port()
        self.dashboard_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            # In RAM when possible: every poll saves the session (SESSION_SAVE_EVERY_REQUEST),
            # and SQLite's fsync and lock waits on disk would swamp what is measured here.
            "DJANGO_SQLITE_PATH": str(_database_dir(workdir) / "bench.sqlite3"),
            "DJANGO_LOG_LEVEL": "WARNING",
            "VOUCHERIFY_API_URL": f"http://127.0.0.1:{self.emulator_port}",
            "VOUCHERIFY_APP_ID": APP_ID,
            "VOUCHERIFY_APP_TOKEN": APP_TOKEN,
            "ACTIONS_POLL_INTERVAL": str(interval),
            "GUNICORN_BIND": f"127.0.0.1:{self.dashboard_port}",
            # gunicorn.conf.py's defaults unless the environment says otherwise.
            "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", ""),
            "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", ""),
        "GRANIAN_WORKERS": os.environ.get("GRANIAN_WORKERS", ""),
        "GRANIAN_BLOCKING_THREADS": os.environ.get("GRANIAN_BLOCKING_THREADS", ""),
            "GUNICORN_MAX_REQUESTS": "0",
            # Every simulated viewer sends the one login's cookie: as one person they would
            # share one person's part of the budget, which is not what is measured here.
            "VOUCHERIFY_USER_SHARE": "1",
        }
        if database_url:  # as production runs (README: Database and cache)
            self.env["DATABASE_URL"] = database_url

    @property
    def server_note(self) -> str:
        """gunicorn's workers × threads as this run sets them (gunicorn.conf.py's defaults
        unless GUNICORN_WORKERS / GUNICORN_THREADS are set)."""
        config = (ROOT / "gunicorn.conf.py").read_text()

        def setting(name: str) -> str:
            default = re.search(rf'"{name}", (?:_whole\("WEB_CONCURRENCY", )?(\d+)', config)
            return self.env.get(name) or (default.group(1) if default else "?")

        if self.server == "granian":
            return (f"granian {self.env.get('GRANIAN_WORKERS') or 2} workers x "
                    f"{self.env.get('GRANIAN_BLOCKING_THREADS') or 4} threads")
        return (f"gunicorn {setting('GUNICORN_WORKERS')} workers x "
                f"{setting('GUNICORN_THREADS')} threads")

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def _spawn(self, args: list[str], log: str, env: dict | None = None) -> subprocess.Popen:
        out = open(self.workdir / log, "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=out,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self) -> None:
        self._start_redis()
        emulator = self._spawn(
            [PYTHON, "manage.py", "emulator", "--port", str(self.emulator_port),
             "--live-every", "0", "--rate-limit", "100"], "emulator.log",
            {**self.env, "DASHBOARD_EMULATOR": "1"})  # production settings leave it out
        wait_for(self.emulator_port, emulator, "The emulator")
        for command in (["migrate", "--noinput", "--verbosity", "0"],
                        ["collectstatic", "--noinput", "--verbosity", "0"]):
            subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=self.env, check=True)
        subprocess.run(
            [PYTHON, "manage.py", "createsuperuser", "--noinput", "--username", USERNAME,
             "--email", "bench@example.com"],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        )

    def _start_redis(self) -> None:
        if os.environ.get("REDIS_URL"):
            self.redis_note = "Redis from REDIS_URL (shared by the gunicorn workers)"
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("Without REDIS_URL the bench starts its own redis-server so that "
                             "the 2 gunicorn workers share one cache; redis-server is missing.")
        port = free_port()
        redis = self._spawn([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(self.workdir)], "redis.log")
        wait_for(port, redis, "redis-server")
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        self.redis_note = (f"a private redis-server on port {port} (REDIS_URL was not set, "
                           "and without Redis the 2 workers would not share one cache)")

    def start_dashboard(self, mode: str) -> None:
        stop(self.dashboard)
        # The previous server's socket must be gone, or the new one fails to bind.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not port_is_free(self.dashboard_port):
            time.sleep(0.2)
        env = {**self.env, "VOUCHERIFY_POLLING_MODE": mode}
        if mode == "naive":  # the comparison: what polling costs with no economy and no cap
            env.update(VOUCHERIFY_CALLS_PER_MINUTE="1000000", VOUCHERIFY_UPSTREAM_RESERVE="0")
        if self.server == "granian":  # as `make serve SERVER=granian` starts it
            env["GRANIAN_PORT"] = str(self.dashboard_port)
            args = [PYTHON, "-m", "dashboard.granian_server"]
        else:
            args = [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", "dashboard.wsgi"]
        self.dashboard = self._spawn(args, f"server-{mode}.log", env)
        wait_for(self.dashboard_port, self.dashboard, self.server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # up when its own worker answers /healthz
            try:
                with urllib.request.urlopen(f"{self.dashboard_url}/healthz", timeout=10) as ok:
                    if ok.status == 200 and self.dashboard.poll() is None:
                        return
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"{self.server} ({mode}) did not answer /healthz:\n{self.log_tail()}")

    def login(self) -> str:
        """Log in through the login form; the Cookie header every viewer sends."""
        for attempt in range(3):
            try:
                return self._login()
            except urllib.error.URLError as exc:
                print(f"Logging in failed ({exc}); log tail:\n{self.log_tail()}", flush=True)
                if attempt == 2:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")

    def log_tail(self, lines: int = 15) -> str:
        logs = sorted(self.workdir.glob("server-*.log"), key=lambda p: p.stat().st_mtime)
        if not logs:
            return "(no log)"
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def _login(self) -> str:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                             _NoRedirect())
        login_url = f"{self.dashboard_url}/accounts/login/"
        with opener.open(login_url, timeout=30) as response:
            page = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            raise SystemExit("The login page had no CSRF token.")
        form = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
        try:  # not following the redirect: the list page would read upstream before the run
            opener.open(request, timeout=30).close()
        except urllib.error.HTTPError as redirect:
            redirect.close()
        cookies = {cookie.name: cookie.value for cookie in jar}
        if "sessionid" not in cookies:
            raise SystemExit("Logging in to the dashboard failed (no session cookie).")
        return "; ".join(f"{name}={value}" for name, value in cookies.items())

    def _django(self) -> None:
        """Django in this process, on the stack's database and cache (sessions, counting)."""
        import django

        os.environ.update(self.env)
        django.setup()

    def sessions(self, count: int) -> list[str]:
        """A user and a logged-in session for each viewer: the Cookie header each sends.
        Made in-process (force_login): hashing 200 passwords through the form would take
        minutes on two cores and tell nothing about polling."""
        self._django()
        from django.contrib.auth import get_user_model
        from django.test import Client

        from dashboard.accounts.roles import ensure_role

        role = ensure_role("operator")
        cookies = []
        for number in range(count):
            user, _ = get_user_model().objects.get_or_create(username=f"bench-viewer-{number}")
            user.groups.add(role)
            client = Client()
            client.force_login(user)
            cookies.append(f"sessionid={client.cookies['sessionid'].value}")
        return cookies

    def queries_per_unchanged_poll(self) -> int | None:
        """SQL queries of one detail panel poll whose answer did not change, counted
        in-process (CaptureQueriesContext) against the running stack's database and cache:
        the median of 5 polls right after a poll of the same running action."""
        import statistics

        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        control = EmulatorControl(self.emulator_url)
        action = control.create_action("VOUCHERS.IMPORT_CSV", duration=600)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(get_user_model().objects.get(username="bench-viewer-0"))
        path = f"/actions/{action['id']}/"
        deadline = time.monotonic() + 70  # the run may have spent the minute's budget: a 503
        while client.get(path).status_code != 200:
            if time.monotonic() > deadline:
                return None
            time.sleep(2)
        counts, url = [], path
        for _ in range(6):  # the first one may be a change (what the panel shows not known yet)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, HTTP_HX_REQUEST="true")
            if response.status_code not in (200, 204):
                return None
            counts.append(len(queries.captured_queries))
            panel = PANEL.search(response.content.decode())  # a 204 leaves the panel as it is
            url = (poll_path(panel.group(0)) or url) if panel else url
        return int(statistics.median(counts[1:]))

    def close(self) -> None:
        for process in reversed(self.processes):
            stop(process)
        database = Path(self.env["DJANGO_SQLITE_PATH"]).parent
        if database != self.workdir:
            shutil.rmtree(database, ignore_errors=True)
