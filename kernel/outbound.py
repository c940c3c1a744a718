"""Outbound URL guard: callbacks and pull sources may not reach private, loopback or link-local hosts.

An attacker who can register a callback URL must not make our workers call the metadata service
or an internal admin page. Checked when a URL is saved and again before each request (DNS may
have changed since), and where it counts, when a connection is opened: `outbound_transport()`
connects only to the addresses it has just resolved and checked, so a name that resolves to a
public address for the check and to a private one a moment later (DNS rebinding) cannot slip
between the two. Tests and on-premise set-ups that really call local hosts opt in per use.
Those connections also keep to a deadline for the whole request (`request_deadline()`).
"""

import ipaddress
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

import httpcore
import httpx


class UnsafeUrl(ValueError):
    """The URL is not http(s), or its host resolves to an address we refuse to call."""


def check_outbound_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put credentials in a header, not in the URL.")
    if allow_private:
        return
    public_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now; UnsafeUrl if it does not resolve or any of them is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise UnsafeUrl(f"The host {host!r} resolves to a non-public address ({address}).")
        addresses.append(str(address))
    return list(dict.fromkeys(addresses))


# When the current outbound request must be over (time.monotonic()), set by request_deadline().
_deadline: ContextVar[float | None] = ContextVar("outbound_deadline", default=None)


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Bound the requests made inside to `seconds` in all, through outbound_transport()'s connections.

    httpx's timeouts apply per phase and per socket operation: a receiver that answers a byte at a time,
    each inside the read timeout, could hold a worker for as long as it likes.
    """
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _within_deadline(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` capped by the time left to the current request_deadline(); `expired` raised if none is left."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("The request took longer than its deadline.")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes stop at the current request_deadline()."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to public addresses (unless allowed), resolved and checked at connect time.

    TLS is negotiated on top by httpcore with the URL's host name (SNI and certificate checks are
    unchanged); only the address the socket connects to is pinned to the one checked. Every connection
    keeps to the current request_deadline().
    """

    def __init__(self, *, allow_private: bool):
        self._allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        if self._allow_private:
            return _DeadlineStream(super().connect_tcp(host, port, timeout, local_address, socket_options))
        failure: Exception | None = None
        for address in public_addresses(host, port):
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:  # the next address, as socket.create_connection would
                failure = exc
        raise failure or httpcore.ConnectError(f"No address to connect to for {host!r}")


def outbound_transport(*, allow_private: bool) -> httpx.HTTPTransport:
    """An httpx transport for calls to URLs that users configure: the connect-time SSRF guard (unless
    `allow_private`) and request_deadline() on every connection."""
    ssl_context = httpx.create_ssl_context()  # loading the CA bundle is the slow part: done once for both
    transport = httpx.HTTPTransport(verify=ssl_context)
    # httpx's transport takes no network backend: its pool is rebuilt with httpx's default limits and ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(allow_private=allow_private),
    )
    return transport
