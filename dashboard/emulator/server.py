"""The emulator over HTTP/1.1: a threading server on a background thread or in the foreground."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dashboard.voucherify.config import DEMO_APP_ID, DEMO_APP_TOKEN

from .app import CONTROL_PREFIX, Emulator, Request
from .responses import Response
from .seed import DEFAULT_SEED
from .store import Clock

MAX_BODY = 1 << 20
# The control API takes whole action objects: tests insert results with 100,000 failed rows.
MAX_CONTROL_BODY = 64 << 20
IDLE_TIMEOUT = 120  # seconds a kept-alive connection may stay silent


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VoucherifyEmulator/1.0"
    timeout = IDLE_TIMEOUT
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every kept-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        limit = MAX_CONTROL_BODY if self.path.startswith(CONTROL_PREFIX) else MAX_BODY
        if not 0 <= length <= limit:
            self.close_connection = True  # the unread body would garble the next request
            self.send_error(400 if length < 0 else 413)
            return
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client=self.client_address[0],
        )
        self._write(self.server.emulator.handle(request))

    def _write(self, response: Response) -> None:
        if response.drop:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: Emulator, verbose: bool) -> None:
        self.emulator, self.verbose = emulator, verbose
        super().__init__(address, _Handler)


class EmulatorServer:
    """A Voucherify-compatible API on `host:port` (port 0: a free one); see `.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, app_id: str = DEMO_APP_ID,
                 app_token: str = DEMO_APP_TOKEN, rate_limit: int = 6000,
                 seed: int = DEFAULT_SEED, live_every: float = 60, clock: Clock | None = None,
                 verbose: bool = False) -> None:
        self.emulator = Emulator(app_id, app_token, rate_limit=rate_limit, seed=seed,
                                 live_every=live_every, clock=clock)
        self.httpd = _HTTPServer((host, port), self.emulator, verbose)
        self.app_id, self.app_token = app_id, app_token
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        """Serve on a daemon thread and return at once."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="voucherify-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until stop() (from another thread) or KeyboardInterrupt."""
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()
