"""A partner's paged transaction feed, served by a real HTTP server in a thread on a free port.

GET /transactions?after=<external_id>&limit=<n> answers
{"data": {"items": [...]}, "paging": {"next": <last external_id> | null}} and wants
`Authorization: Bearer <token>`; `mode` makes it misbehave the ways real partners do.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).parent / "fixtures" / "bank_feed_transactions.json"
TOKEN = "Bearer feed-s3cret-token"


class Feed:
    def __init__(self):
        self.records: list[dict] = json.loads(RECORDED.read_text())
        self.mode = "ok"  # ok | error | bad_json | not_a_list | slow | redirect_away | redirect_here
        self.requests: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/transactions"

    def add(self, n: int) -> None:
        start = len(self.records) + 1
        for i in range(start, start + n):
            self.records.append({**self.records[0], "external_id": f"bf-{i:04d}", "amount": f"{i}.00"})

    def page(self, after: str | None, limit: int) -> dict:
        ids = [r["external_id"] for r in self.records]
        start = ids.index(after) + 1 if after in ids else 0
        items = self.records[start : start + limit]
        more = start + limit < len(self.records)
        return {"data": {"items": items}, "paging": {"next": items[-1]["external_id"] if more else None}}

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _handler(feed: Feed):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            feed.requests.append({"path": parts.path, "query": query, "auth": self.headers.get("Authorization")})
            if feed.mode == "redirect_away":
                return self._redirect(f"http://localhost:{feed.port}{self.path}")
            if feed.mode == "redirect_here" and parts.path == "/transactions":
                return self._redirect(f"/v2{self.path}")
            if self.headers.get("Authorization") != TOKEN:
                return self._send(401, b'{"error": "unauthorized"}')
            if feed.mode == "error":
                return self._send(503, b"<html>maintenance</html>", "text/html")
            if feed.mode == "bad_json":
                return self._send(200, b'{"data": {"items": [{"external_id": "bf-1",')
            if feed.mode == "not_a_list":
                return self._send(200, json.dumps({"data": {"items": {"external_id": "bf-1"}}}).encode())
            if feed.mode == "slow":
                time.sleep(3)
            body = feed.page(query.get("after"), int(query.get("limit", 10)))
            return self._send(200, json.dumps(body).encode())

        def _redirect(self, location: str):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(self, status: int, body: bytes, content_type: str = "application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
