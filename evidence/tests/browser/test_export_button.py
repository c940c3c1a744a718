"""A compliance officer exports a case from its page in Chromium; the downloaded bundle verifies with the
standalone script in a Python that cannot import finobs, and fails after a one-byte change."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from cases.tests.browser.test_workspace_flow import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "verify_bundle.py"


def test_the_export_button_downloads_a_bundle_that_verifies_offline(
    asgi_server, browser, open_case, personas, keys_file, tmp_path
):
    case = open_case("a-1", n=3)
    carol = personas["carol"]
    carol.set_password(PASSWORD)
    carol.save()

    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{asgi_server}/accounts/login/?next=/cases/{case.reference}/")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("[data-testid=export-form] button")
    page.wait_for_selector("[data-testid=export-status]")
    assert page.inner_text("[data-testid=export-status]") == "Done"
    with page.expect_download() as download:
        page.click("[data-testid=download]")
    bundle = tmp_path / "bundle.zip"
    download.value.save_as(bundle)
    assert page.inner_text("[data-testid=bundle-sha256]") == hashlib.sha256(bundle.read_bytes()).hexdigest()

    def verify(path):
        return subprocess.run(
            [sys.executable, "-I", str(SCRIPT), str(path), "--key", str(keys_file())],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert verify(bundle).returncode == 0
    changed = bytearray(bundle.read_bytes())
    changed[len(changed) // 2] ^= 0x20
    (tmp_path / "changed.zip").write_bytes(bytes(changed))
    assert verify(tmp_path / "changed.zip").returncode == 1
