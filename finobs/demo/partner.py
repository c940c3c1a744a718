"""A partner's server on this machine, started and stopped by the demo: a card processor's paged transaction
feed for the pull source, and a case desk's webhook receiver for the callback endpoint (which turns one
webhook away every time, so the demo has a dead letter to redeliver)."""

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PAGE_SIZE = 25
REFUSED_WEBHOOK = 3  # the third distinct webhook the receiver sees is answered 503, every time


class Partner:
    def __init__(self, *, records: list[dict]):
        self.records = records
        self.received: list[str] = []  # webhook ids accepted
        self.refused: set[str] = set()
        self._seen: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-partner", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "Partner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def page(self, cursor: str) -> dict:
        start = int(cursor) if cursor.isdigit() else 0
        end = start + PAGE_SIZE
        return {"data": self.records[start:end], "next": str(end) if end < len(self.records) else None}

    def accepts(self, webhook_id: str) -> bool:
        with self._lock:
            if webhook_id not in self._seen:
                self._seen.append(webhook_id)
            if self._seen.index(webhook_id) + 1 == REFUSED_WEBHOOK:
                self.refused.add(webhook_id)
                return False
            self.received.append(webhook_id)
            return True


def _handler(partner: Partner):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/transactions":
                return self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
            cursor = parse_qs(url.query).get("cursor", [""])[0]
            return self._reply(HTTPStatus.OK, partner.page(cursor))

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlparse(self.path).path != "/webhooks":
                return self._reply(HTTPStatus.NOT_FOUND, {"error": "not found"})
            if partner.accepts(self.headers.get("webhook-id", "")):
                return self._reply(HTTPStatus.OK, {"ok": True})
            return self._reply(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "case desk under maintenance"})

        def _reply(self, status: HTTPStatus, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass  # the demo's output says what the partner did

    return Handler
