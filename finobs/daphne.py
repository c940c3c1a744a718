"""daphne's HTTP requests without Twisted's form parsing: the body goes to the application as it came.

Twisted's Request parses every POSTed form body (multipart or url-encoded) into `request.args` on the
event loop before daphne passes the raw body to the application, which never reads `args` (Django
parses the body itself, in the request's thread). A 6.5 MB CSV upload measured 470 ms of that parse
on the bench machine: half a second in which the process served no other request, SSE stream or
WebSocket. It also parsed the Content-Type of every POST through `email.message` (~0.1 ms a request).

daphne's HTTPFactory builds its requests from the module-level `daphne.http_protocol.WebRequest`, so
`install()` (finobs.asgi calls it; daphne imports the application before it accepts connections) puts
in its place a subclass that passes Twisted's `parsePOSTFormSubmission=False`.
"""

import daphne.http_protocol


class WebRequest(daphne.http_protocol.WebRequest):
    """daphne's request, with Twisted's parsing of form bodies into `args` turned off."""

    def __init__(self, *args, **kwargs):
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)


def install() -> None:
    """Make daphne build its HTTP requests from WebRequest (idempotent)."""
    daphne.http_protocol.WebRequest = WebRequest
