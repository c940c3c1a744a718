"""A real HTTP server in a thread that receives callbacks, as an integrator's endpoint would."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """Records every POST (headers, raw body); answers from `statuses` in turn, then 200."""

    def __init__(self, port: int):
        self.port = port
        self.requests: list[tuple[dict, bytes]] = []
        self.statuses: list[int] = []
        self.gate: threading.Event | None = None  # when set, each request waits for it before answering
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def fail_next(self, times: int, status: int = 500) -> None:
        with self.lock:
            self.statuses = [status] * times

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections alive, as real receivers do (the pooled client reuses them)

    def do_POST(self):
        receiver: Receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        with receiver.lock:
            receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            gate = receiver.gate
        if gate is not None:
            gate.wait(10)
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("location", f"http://127.0.0.1:{receiver.port}/elsewhere")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):  # keep the test output quiet
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.receiver
    if server.receiver.gate is not None:
        server.receiver.gate.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(settings):
    """The receiver runs on 127.0.0.1, which the SSRF guard refuses unless allowed."""
    settings.CALLBACK_ALLOW_PRIVATE = True
    return settings


def wait_for(predicate, *, timeout_s: float = 20, message: str = "condition") -> None:
    """Poll until `predicate()` holds (work may run in a Celery worker thread); fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")
