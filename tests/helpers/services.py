"""Real PostgreSQL, Redis and gunicorn processes on free ports, for tests/test_replicas.py.

Binaries come from Debian's packages (.ci/run installs them). PostgreSQL refuses to run as
root, so as root its commands run as the `postgres` user (or `nobody`) through runuser.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from http.cookiejar import CookieJar
from pathlib import Path

from dashboard.emulator.ports import free_port
from tests.helpers.repo import ROOT

START_TIMEOUT = 40.0


class MissingService(RuntimeError):
    """A binary the test needs is not installed; the message says how to get it."""


def find_binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps PostgreSQL's server binaries in a versioned directory, off PATH.
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1]
    raise MissingService(
        f"{name} is not installed: `apt-get install {package}` (.ci/run installs it when missing)."
    )


def wait_until(ready, what: str, process: subprocess.Popen | None = None,
               log: Path | None = None, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s.\n{tail}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PostgresServer:
    """initdb into a fresh directory; listens only on a unix socket in that directory."""

    def __init__(self) -> None:
        self.initdb = find_binary("initdb", "postgresql")
        self.pg_ctl = find_binary("pg_ctl", "postgresql")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="dashboard-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.owner = None
        if os.geteuid() == 0:
            self.owner = "postgres" if _user_exists("postgres") else "nobody"
            account = pwd.getpwnam(self.owner)
            os.chown(self.root, account.pw_uid, account.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://dashboard@/dashboard?host={urllib.parse.quote(str(self.root))}" \
               f"&port={self.port}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, cwd="/")
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PostgresServer:
        if not self.data.exists():
            self._run(self.initdb, "-D", str(self.data), "-U", "dashboard", "--auth=trust",
                      "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")
        return self

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user="dashboard",
                             dbname="postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE dashboard")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except RuntimeError:  # already down: an immediate stop can leave a stale pid file
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.binary = find_binary("redis-server", "redis-server")
        self.port = free_port()
        self.directory = directory
        self.log = directory / "redis.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT,
            )
        wait_until(lambda: port_open(self.port), "redis-server", self.process, self.log)
        return self

    def stop(self) -> None:
        _terminate(self.process)
        self.process = None


@dataclass
class Replica:
    """One gunicorn (or granian) instance, its own workers, serving the production settings."""

    name: str
    env: dict[str, str]
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    server: str = "gunicorn"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def start(self) -> Replica:
        metrics_dir = self.directory / f"{self.name}-metrics"
        metrics_dir.mkdir(exist_ok=True)
        env = {**self.env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "GRANIAN_PORT": str(self.port), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        command = ([sys.executable, "-m", "dashboard.granian_server"] if self.server == "granian"
                   else [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py",
                         "dashboard.wsgi"])
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        wait_until(lambda: Browser().get(self.url + "/healthz").status == 200,
                   f"{self.server} {self.name}", self.process, self.log)
        return self

    def stop(self) -> None:
        _terminate(self.process)
        self.process = None


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass
class Page:
    status: int
    headers: Message
    text: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx comes back as the response: tests assert on where it points


class Browser:
    """urllib with a cookie jar (cookies are per host, so one jar serves both replicas)."""

    def __init__(self) -> None:
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def get(self, url: str, headers: dict[str, str] | None = None) -> Page:
        return self._open(urllib.request.Request(url, headers=headers or {}))

    def post(self, url: str, form: dict[str, str]) -> Page:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(url, data=data, method="POST"))

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Page(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                return Page(error.code, error.headers, error.read().decode(errors="replace"))
        except (urllib.error.URLError, ConnectionError):
            return Page(0, Message(), "")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _terminate(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
