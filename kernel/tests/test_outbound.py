import re

import pytest

from kernel.outbound import UnsafeUrl, check_outbound_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
def test_private_and_loopback_hosts_are_refused(url):
    with pytest.raises(UnsafeUrl, match="non-public"):
        check_outbound_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/", "file:///etc/passwd", "http:///nohost", "http://u:p@8.8.8.8/"])
def test_other_schemes_and_credentials_are_refused_even_when_private_is_allowed(url):
    with pytest.raises(UnsafeUrl):
        check_outbound_url(url, allow_private=True)


def test_a_public_address_passes_and_private_passes_when_allowed():
    check_outbound_url("https://8.8.8.8/hook", allow_private=False)
    check_outbound_url("http://127.0.0.1:9/hook", allow_private=True)


def test_the_outbound_transport_checks_the_address_it_connects_to(monkeypatch):
    """Pull sources and callbacks connect through it: a name resolving to loopback is refused at connect time."""
    import socket

    import httpx

    from kernel.outbound import outbound_transport

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(  # the resolver is outside: a DNS answer pointing the name at loopback
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host == "feed.rebind.example" else host, *a, **k),
    )
    refused = pytest.raises(UnsafeUrl, match=re.escape("non-public address (127.0.0.1)"))
    with httpx.Client(transport=outbound_transport(allow_private=False)) as client, refused:
        client.get("http://feed.rebind.example:9/records")
    # Allowed: it connects (nothing listens on port 9).
    with httpx.Client(transport=outbound_transport(allow_private=True)) as client, pytest.raises(httpx.ConnectError):
        client.get("http://feed.rebind.example:9/records")
