"""Outbound URL guard: callbacks and pull sources may not reach private, loopback or link-local hosts.

An attacker who can register a callback URL must not make our workers call the metadata service
or an internal admin page. A URL is checked when it is saved (its host resolved and every address
checked, for a clear form error), and where it counts, when a connection is opened:
`outbound_transport()` resolves the host once, checks every address and connects to one of those
very addresses (pinned), so a name that resolves to a public address for the check and to a private
one a moment later (DNS rebinding) cannot slip between the two. TLS still names and verifies the
host (SNI and certificate), not the address. A kept-alive connection stays with the address it was
opened to; a new resolution only ever reaches a new connection, which is checked again.
Tests and on-premise set-ups that really call local hosts opt in per use (`allow_private`).
Those connections also keep to a deadline for the whole request (`request_deadline()`), name
resolution included.
"""

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

import httpcore
import httpx

# IPv6 prefixes that carry an IPv4 address a gateway may forward to (NAT64, RFC 6052 and 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class UnsafeUrl(ValueError):
    """The URL is not http(s), or its host resolves to an address we refuse to call."""


def check_outbound_url(url: str, *, allow_private: bool, resolve: bool = True) -> None:
    """UnsafeUrl unless `url` is http(s) with a host and no credentials and (unless `allow_private`) its
    host resolves to public addresses only. `resolve=False` checks the URL's form only: before a request
    through outbound_transport(), which resolves and checks the address itself when it connects (one
    resolution, the one connected to)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeUrl("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeUrl("Put credentials in a header, not in the URL.")
    if allow_private or not resolve:
        return
    public_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now, in the resolver's order: the one lookup the guard and the
    transport make. UnsafeUrl if it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {host!r} does not resolve.") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: str) -> bool:
    """A global unicast address, and, for IPv6 forms that embed an IPv4 address, that one too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and any(ip in network for network in _NAT64):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(str(embedded)):
            return False
    return True


def public_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now; UnsafeUrl if it does not resolve or any of them is not public."""
    addresses = resolve_host(host, port)
    for address in addresses:
        if not is_public(address):
            shown = address.split("%", 1)[0]
            raise UnsafeUrl(f"The host {host!r} resolves to a non-public address ({shown}).")
    return addresses


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


def _addresses_to_dial(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Resolve `host` once and check every address (unless `allow_private`), within the request's deadline.

    getaddrinfo cannot be interrupted and a resolver may take tens of seconds to give up, so under a
    deadline the lookup runs on a thread of its own and the request stops waiting for it at the deadline.
    """
    lookup = resolve_host if allow_private else public_addresses
    deadline = _deadline.get()
    if deadline is None:
        return lookup(host, port)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["addresses"] = lookup(host, port)
        except Exception as exc:  # handed to the waiting request below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="outbound-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise httpcore.ConnectTimeout(f"Resolving {host!r} took longer than the request's deadline.")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


class _PinnedBackend(httpcore.SyncBackend):
    """Opens TCP connections to the addresses it has just resolved and checked, and to no other.

    httpcore asks for a connection to the URL's host; this resolves the host once, refuses it if any
    address is not public (unless allowed), and dials those addresses in turn, never the name, so
    nothing resolves it a second time. TLS is negotiated on top by httpcore with the URL's host name
    (SNI and certificate checks are unchanged). Every connection keeps to the current request_deadline().
    """

    def __init__(self, *, allow_private: bool):
        self._allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = _addresses_to_dial(host, port, allow_private=self._allow_private)
        failure: Exception | None = None
        for address in addresses:
            try:
                timeout_left = _within_deadline(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(address, port, timeout_left, local_address, socket_options)
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:  # the next address, as socket.create_connection would
                failure = exc
        raise httpcore.ConnectError(f"Could not connect to {host} at {', '.join(addresses)}: {failure}")


def outbound_transport(*, allow_private: bool, ssl_context=None) -> httpx.HTTPTransport:
    """An httpx transport for calls to URLs that users configure: connections pinned to the addresses the
    SSRF guard checked (unless `allow_private`, pinned all the same) and request_deadline() on each.
    `ssl_context`: the certificate authorities to trust, when not the usual bundle."""
    ssl_context = ssl_context or httpx.create_ssl_context()  # loading the CA bundle is the slow part: once
    transport = httpx.HTTPTransport(verify=ssl_context)
    # httpx's transport takes no network backend: its pool is rebuilt with httpx's default limits and ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=_PinnedBackend(allow_private=allow_private),
    )
    return transport
