"""Outbound URL guard: callbacks and pull sources may not reach private, loopback or link-local hosts.

An attacker who can register a callback URL must not make our workers call the metadata service
or an internal admin page. Checked when a URL is saved and again before each request (DNS may
have changed since). Tests and on-premise set-ups that really call local hosts opt in per use.
"""

import ipaddress
import socket
from urllib.parse import urlsplit


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
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host {parts.hostname!r} does not resolve.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise UnsafeUrl(f"The host {parts.hostname!r} resolves to a non-public address ({address}).")
