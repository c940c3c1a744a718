import re

import httpx
import pytest

from kernel.outbound import UnsafeUrl, check_outbound_url, is_public, outbound_transport, request_deadline
from kernel.tests.internet import Internet, Server


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


@pytest.mark.parametrize(
    "address",
    ["::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::", "fe80::1", "ff02::1", "100.64.0.1"],
)
def test_ipv6_forms_of_private_ipv4_addresses_are_not_public(address):
    """IPv4-mapped, NAT64 (here the metadata service's address) and 6to4 forms lead to the IPv4 address inside."""
    assert not is_public(address)


def test_public_addresses_are_public():
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.fixture
def internet(monkeypatch):
    return Internet(monkeypatch)


@pytest.fixture
def servers():
    """The partner's server on 127.0.0.1, and an internal one on 127.0.0.2 on the same port that must stay untouched."""
    with Server("127.0.0.1", name="partner") as partner, Server("127.0.0.2", partner.port, name="internal") as internal:
        yield partner, internal


def test_a_connection_goes_to_the_address_checked_never_to_a_later_answer(internet, servers):
    """DNS answers a public address first and a private one after it: the request reaches the first."""
    partner, internal = servers
    internet.answer("feed.rebind.example", ["93.184.216.34"], ["127.0.0.2"])
    internet.route("93.184.216.34", to="127.0.0.1")  # the public address leads to the partner's server
    url = f"http://feed.rebind.example:{partner.port}/records"
    with httpx.Client(transport=outbound_transport(allow_private=False)) as client:
        assert client.get(url).json() == {"server": "partner"}
        assert client.get(url).json() == {"server": "partner"}  # the kept-alive connection: no new lookup
        assert internet.lookups_of("feed.rebind.example") == 1
        assert internet.dials == ["93.184.216.34"]
        assert partner.requests[0]["host"] == f"feed.rebind.example:{partner.port}"  # the name, not the address
        client._transport._pool.close()  # the kept-alive connection is gone: the next one looks the name up again
        with pytest.raises(UnsafeUrl, match=re.escape("non-public address (127.0.0.2)")):
            client.get(url)
    assert internal.requests == []
    assert internet.dials == ["93.184.216.34"]  # the private answer was never dialled


def test_allowed_private_addresses_are_pinned_too(internet, servers):
    partner, internal = servers
    internet.answer("feed.local.example", ["127.0.0.1"], ["127.0.0.2"])
    with httpx.Client(transport=outbound_transport(allow_private=True)) as client:
        assert client.get(f"http://feed.local.example:{partner.port}/").json() == {"server": "partner"}
    assert internet.lookups_of("feed.local.example") == 1 and internal.requests == []


def test_tls_names_and_verifies_the_host_while_connecting_to_the_pinned_address(internet, tmp_path):
    """SNI and the certificate check use the URL's host name, though the socket goes to the checked address."""
    ca_context, server_context = _tls_contexts(tmp_path, "hooks.pinned.example")
    with Server("127.0.0.1", name="partner") as partner:
        partner._server.socket = server_context.wrap_socket(partner._server.socket, server_side=True)
        internet.answer("hooks.pinned.example", ["93.184.216.34"])
        internet.answer("hooks.other.example", ["93.184.216.34"])
        internet.route("93.184.216.34", to="127.0.0.1")
        transport = outbound_transport(allow_private=False, ssl_context=ca_context)
        with httpx.Client(transport=transport) as client:
            assert client.get(f"https://hooks.pinned.example:{partner.port}/").json() == {"server": "partner"}
            with pytest.raises(httpx.ConnectError, match="certificate"):  # same address, a name the cert lacks
                client.get(f"https://hooks.other.example:{partner.port}/")
    assert internet.dials == ["93.184.216.34", "93.184.216.34"]


def _tls_contexts(tmp_path, host: str):
    """A certificate authority the client trusts, and a server certificate it signed for `host`."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject, issuer, key, signer, *, ca: bool, names=()):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("finobs test CA", "finobs test CA", ca_key, ca_key, ca=True)
    cert = certificate(host, "finobs test CA", key, ca_key, ca=False, names=[host])
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return ssl.create_default_context(cafile=str(tmp_path / "ca.pem")), server_context


class TestDeadline:
    def test_a_server_that_drips_its_answer_is_cut_at_the_deadline(self):
        import socket
        import threading
        import time

        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def drip():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n":  # a byte every 0.1 s
                    if stop.wait(0.1):
                        return
                    connection.sendall(bytes([byte]))

        threading.Thread(target=drip, daemon=True).start()
        started = time.monotonic()
        try:
            client = httpx.Client(transport=outbound_transport(allow_private=True), timeout=5)
            with client, request_deadline(0.8), pytest.raises(httpx.ReadTimeout):
                client.get(f"http://127.0.0.1:{listener.getsockname()[1]}/")
        finally:
            stop.set()
            listener.close()
        assert time.monotonic() - started < 2.5  # each byte came well inside the 5 s read timeout

    def test_a_name_lookup_that_hangs_is_cut_at_the_deadline(self, monkeypatch):
        import socket
        import threading
        import time

        release = threading.Event()
        real_getaddrinfo = socket.getaddrinfo

        def hanging(host, *args, **kwargs):
            if host == "slow-dns.example":
                release.wait(10)  # a resolver that takes its time to give up
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", hanging)
        started = time.monotonic()
        try:
            client = httpx.Client(transport=outbound_transport(allow_private=False))
            with client, request_deadline(0.5), pytest.raises(httpx.ConnectTimeout):
                client.get("http://slow-dns.example/")
        finally:
            release.set()
        assert time.monotonic() - started < 2
