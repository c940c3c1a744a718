"""daphne as finobs runs it: HTTP requests without Twisted's form parsing, and a drain before it stops.

The form parsing. Twisted's Request parses every POSTed form body (multipart or url-encoded) into `request.args` on the
event loop before daphne passes the raw body to the application, which never reads `args` (Django
parses the body itself, in the request's thread). A 6.5 MB CSV upload measured 470 ms of that parse
on the bench machine: half a second in which the process served no other request, SSE stream or
WebSocket. It also parsed the Content-Type of every POST through `email.message` (~0.1 ms a request).

daphne's HTTPFactory builds its requests from the module-level `daphne.http_protocol.WebRequest`, so
`install()` (finobs.asgi calls it; daphne imports the application before it accepts connections) puts
in its place a subclass that passes Twisted's `parsePOSTFormSubmission=False`.

The drain. On SIGTERM daphne stops the reactor, and before it does it cancels every application instance:
a request in the middle of its work would lose its answer (its thread still finishes and commits; the client
sees the connection drop). `install_drain()` makes daphne first stop accepting connections and wait, up to
SHUTDOWN_GRACE_S, for the requests of the pooled handler (every ordinary view; with FINOBS_NO_POOLED_HANDLER
there are none to wait for) to be answered; the streams (SSE, WebSockets), which never end by themselves,
are then closed as before and their clients reconnect to another process.
"""

import asyncio
import logging
import time

import daphne.http_protocol
import daphne.server
from django.conf import settings
from twisted.internet import defer

logger = logging.getLogger(__name__)


class WebRequest(daphne.http_protocol.WebRequest):
    """daphne's request, with Twisted's parsing of form bodies into `args` turned off."""

    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


def install() -> None:
    """Make daphne build its HTTP requests from WebRequest (idempotent)."""
    daphne.http_protocol.WebRequest = WebRequest


def install_drain() -> None:
    """Make daphne stop accepting and answer the requests in flight before it stops (idempotent)."""
    server = daphne.server.Server
    if not getattr(server, "drains", False):
        server.drains = True
        server.listen_success = _keeping_ports(server.listen_success)
        server.kill_all_applications = _after_draining(server.kill_all_applications)


def _keeping_ports(listen_success):
    def wrapper(self, port):
        self.finobs_ports = [*getattr(self, "finobs_ports", []), port]
        return listen_success(self, port)

    return wrapper


def _after_draining(kill_all_applications):
    def wrapper(self):
        return defer.Deferred.fromFuture(asyncio.ensure_future(_drain(self))).addBoth(
            lambda _: kill_all_applications(self)
        )

    return wrapper


async def _drain(server) -> None:
    from finobs.handlers import requests_in_flight

    grace_s = settings.SHUTDOWN_GRACE_S
    for port in getattr(server, "finobs_ports", []):
        port.stopListening()  # new connections are refused: the load balancer sends them elsewhere
    deadline = time.monotonic() + grace_s
    logger.info("Stopping: waiting up to %s s for %d requests in flight", grace_s, requests_in_flight())
    while requests_in_flight() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if requests_in_flight():
        logger.warning("Stopping with %d requests unanswered after %s s", requests_in_flight(), grace_s)
