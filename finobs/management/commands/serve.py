"""Serve finobs with daphne (HTTP and WebSockets), refusing a non-local address while DEBUG is on."""

import ipaddress
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

LOCAL_NAMES = {"localhost"}


def is_local(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine (a loopback address or name)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Command(BaseCommand):
    help = "Serve finobs (daphne). With DEBUG on it binds only to this machine: DEBUG pages show settings and URLs."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to bind")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port to bind")

    def handle(self, *args, host: str, port: int, **options):
        if settings.DEBUG and not is_local(host):
            raise CommandError(
                f"Refusing to serve on {host} with DEBUG on: its error pages would show this server's settings "
                "and URLs to anyone who can reach it. For any address other than this machine's own, run with "
                "production settings: DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=… PII_HASH_SALT=… (see docs/operations.md)."
            )
        daphne = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port), "finobs.asgi:application"]
        os.execv(sys.executable, daphne)  # noqa: S606 (the server replaces this process: signals reach daphne)
