"""Outbound URL guard: callbacks and pull sources may not reach private, loopback or link-local hosts.

An attacker who can register a callback URL must not make our workers call the metadata service
or an internal admin page. Checked when a URL is saved and again before each request (DNS may
have changed since), and where it counts, when a connection is opened: `outbound_transport()`
connects only to the addresses it has just resolved and checked, so a name that resolves to a
public address for the check and to a private one a moment later (DNS rebinding) cannot slip
between the two. Tests and on-premise set-ups that really call local hosts opt in per use.
"""

import ipaddress
import socket
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


class _PublicOnlyBackend(httpcore.SyncBackend):
    """Opens TCP connections only to public addresses, resolved and checked here, at connect time.

    TLS is negotiated on top by httpcore with the URL's host name (SNI and certificate checks are
    unchanged); only the address the socket connects to is pinned to the one checked.
    """

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        failure: Exception | None = None
        for address in public_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next address, as socket.create_connection would
                failure = exc
        raise failure or httpcore.ConnectError(f"No address to connect to for {host!r}")


def outbound_transport(*, allow_private: bool) -> httpx.HTTPTransport:
    """An httpx transport for calls to URLs that users configure: connect-time SSRF guard unless allowed."""
    transport = httpx.HTTPTransport()
    if not allow_private:
        # httpx's transport takes no network backend: its pool is rebuilt with httpx's default limits and ours.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicOnlyBackend(),
        )
    return transport
