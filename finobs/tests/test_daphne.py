"""daphne hands a POSTed form to the application unparsed (finobs.daphne): no parse on the event loop."""

import daphne.http_protocol
from twisted.internet.testing import StringTransport

import finobs.asgi  # noqa: F401  (installs finobs.daphne's request class, as daphne's import of the app does)
from finobs.daphne import WebRequest

BOUNDARY = b"finobs-boundary"
CSV = b"external_id,account_id,amount\n" + b"".join(b"tx-%d,acc-%d,12.50\n" % (n, n) for n in range(2000))
BODY = (
    b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="batch.csv"\r\n'
    b"Content-Type: text/csv\r\n\r\n" + CSV + b"\r\n--" + BOUNDARY + b"--\r\n"
)


class Application:
    """What daphne's server gives a request: a queue per request (here, a list of what it was sent)."""

    def __init__(self):
        self.scopes, self.messages = [], []

    def put_nowait(self, message):
        self.messages.append(message)


class Server:
    """The parts of daphne's Server that its HTTP protocol calls for one plain HTTP request."""

    proxy_forwarded_address_header = None
    root_path = ""
    request_buffer_size = 8192

    def __init__(self):
        self.application = Application()
        self.requests = []

    def protocol_connected(self, protocol):
        self.requests.append(protocol)

    def create_application(self, protocol, scope):
        self.application.scopes.append(scope)
        return self.application


def test_daphne_builds_requests_that_leave_form_bodies_unparsed():
    assert daphne.http_protocol.WebRequest is WebRequest
    server = Server()
    channel = daphne.http_protocol.HTTPFactory(server).buildProtocol(("127.0.0.1", 0))
    channel.makeConnection(StringTransport())
    channel.dataReceived(
        b"POST /ingestion/uploads/ HTTP/1.1\r\nHost: testserver\r\n"
        b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
    )
    (request,) = server.requests
    assert isinstance(request, WebRequest)
    assert request.args == {}  # Twisted's default parses the form into args here, on the event loop
    (scope,) = server.application.scopes
    assert (scope["method"], scope["path"]) == ("POST", "/ingestion/uploads/")
    assert b"".join(m["body"] for m in server.application.messages) == BODY  # the body, as it came
