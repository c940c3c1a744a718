"""Malware scanning of attachments: the scanner the ATTACHMENT_SCANNER setting names.

"none" trusts every file; "clamd" streams the bytes to a clamd daemon with its INSTREAM command (each
chunk sent as a 4-byte big-endian length and the data, a zero length ends the stream) and reads one
reply: "stream: OK", "stream: <signature> FOUND", or "<reason> ERROR".
"""

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

CLAMD_CHUNK_BYTES = 64 * 1024  # below clamd's default StreamMaxLength chunking; any size up to it works


class ScannerUnavailable(ConnectionError):
    """The scanner could not be reached or gave no verdict: the file stays pending and the scan is retried."""


@dataclass(frozen=True)
class Verdict:
    is_infected: bool
    detail: str = ""


def scanner_name() -> str:
    return settings.ATTACHMENT_SCANNER


def scan(chunks: Iterable[bytes]) -> Verdict:
    """The configured scanner's verdict on the bytes `chunks` yields."""
    if scanner_name() == "clamd":
        return ClamdClient.from_settings().instream(chunks)
    return Verdict(is_infected=False)


class ClamdClient:
    def __init__(self, address: str, *, timeout_s: float):
        self.address = address
        self.timeout_s = timeout_s

    @classmethod
    def from_settings(cls) -> "ClamdClient":
        return cls(settings.ATTACHMENT_CLAMD_ADDRESS, timeout_s=settings.ATTACHMENT_CLAMD_TIMEOUT_S)

    def _connect(self) -> socket.socket:
        if self.address.startswith("/"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout_s)
            sock.connect(self.address)
            return sock
        host, _, port = self.address.rpartition(":")
        return socket.create_connection((host or "127.0.0.1", int(port)), timeout=self.timeout_s)

    def instream(self, chunks: Iterable[bytes]) -> Verdict:
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CLAMD_CHUNK_BYTES):
                        part = chunk[start : start + CLAMD_CHUNK_BYTES]
                        sock.sendall(struct.pack("!L", len(part)) + part)
                sock.sendall(struct.pack("!L", 0))
                reply = _read_reply(sock)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd at {self.address}: {exc}") from exc
        return parse_reply(reply)


def _read_reply(sock: socket.socket) -> str:
    received = b""
    while not received.endswith(b"\0"):
        part = sock.recv(4096)
        if not part:
            break
        received += part
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()


def parse_reply(reply: str) -> Verdict:
    """clamd's answer to INSTREAM, e.g. "stream: OK", "stream: Eicar-Signature FOUND"."""
    _, _, result = reply.partition(": ")
    if result == "OK":
        return Verdict(is_infected=False)
    if result.endswith(" FOUND"):
        return Verdict(is_infected=True, detail=result.removesuffix(" FOUND"))
    raise ScannerUnavailable(f"clamd gave no verdict: {reply!r}")
