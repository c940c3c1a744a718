"""The outside of an outbound call, faked for tests: what DNS answers, and where public addresses lead.

The servers stay real (local HTTP servers in threads); only the name lookups and the route from a
public address to one of those servers are the test's. Every lookup and every dial is recorded.
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Internet:
    def __init__(self, monkeypatch):
        self.answers: dict[str, list[list[str]]] = {}
        self.routes: dict[str, str] = {}
        self.lookups: list[tuple[str, list[str]]] = []
        self.dials: list[str] = []
        real_getaddrinfo, real_create_connection = socket.getaddrinfo, socket.create_connection

        def getaddrinfo(host, port, *args, **kwargs):
            if host not in self.answers:
                return real_getaddrinfo(host, port, *args, **kwargs)
            queue = self.answers[host]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]  # the last answer stays
            self.lookups.append((host, addresses))
            return [info for address in addresses for info in real_getaddrinfo(address, port, *args, **kwargs)]

        def create_connection(address, *args, **kwargs):
            self.dials.append(address[0])
            return real_create_connection((self.routes.get(address[0], address[0]), address[1]), *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)

    def answer(self, host: str, *answers: list[str]) -> None:
        """`host` resolves to each answer in turn, then to the last one for good."""
        self.answers[host] = [list(a) for a in answers]

    def route(self, public_address: str, to: str) -> None:
        """Connections to `public_address` reach the local server at `to` (a loopback address)."""
        self.routes[public_address] = to

    def lookups_of(self, host: str) -> int:
        return sum(1 for name, _ in self.lookups if name == host)


class Server:
    """A real HTTP server on `address`: answers GET and POST with 200 and its own name; records each request."""

    def __init__(self, address: str = "127.0.0.1", port: int = 0, name: str = "server"):
        self.name = name
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do

            def log_message(self, *args):
                """Requests are recorded in `requests`, not written to stderr."""

            def _answer(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                owner.requests.append({"path": self.path, "host": self.headers.get("host")})
                body = f'{{"server": "{owner.name}"}}'.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self._server = ThreadingHTTPServer((address, port), Handler)
        self._server.daemon_threads = True
        self.address, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
