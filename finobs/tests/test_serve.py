"""`manage.py serve` (bin/run, the Procfile's web process) refuses a non-local address while DEBUG is on."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from finobs.management.commands.serve import is_local


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.5", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_local(host):
    assert is_local(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.4", "finobs.example"])
def test_other_addresses_are_not(host):
    assert not is_local(host)


def test_debug_on_a_non_local_address_refuses_to_start(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match=r"Refusing to serve on 0\.0\.0\.0 with DEBUG on"):
        call_command("serve", host="0.0.0.0", port=8000)


def test_the_procfiles_web_process_refuses_with_the_default_debug():
    """The Procfile's own command line, run as a process with nothing configured (DEBUG defaults to on)."""
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    web = next(line.split(":", 1)[1].strip() for line in procfile.splitlines() if line.startswith("web:"))
    assert web.startswith("python manage.py serve ")
    arguments = web.removeprefix("python ").replace("${PORT:-8000}", "8000").split()
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, *arguments], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Refusing to serve on 0.0.0.0 with DEBUG on" in result.stderr
