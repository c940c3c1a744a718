"""Screenshots of a fresh demo for the README and docs (bin/screenshots): each page as the role that uses it.

A throwaway SQLite database in a temporary directory gets the demo (the shipped default model is reused
from var/), the demo users a known password, and daphne serves it; Chromium (Debian's, through Playwright)
signs in as each role and saves full-page PNGs into docs/images/. The second factor is off for this
server only (MFA_REQUIRED_FOR=none): the pages are the same.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "screenshots-only-" + os.urandom(6).hex()
# (role, path, image name): what each role is shown doing.
PAGES = [
    ("analyst", "/cases/", "worklist"),
    ("analyst", "{case}", "case"),
    ("compliance", "/", "dashboard"),
    ("compliance", "/approvals/", "approvals"),
    ("compliance", "/admin/scoring/modelversion/", "models"),
]


def manage(env: dict, *args: str) -> str:
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health/live", timeout=1):  # noqa: S310 (a local URL)
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def prepare(env: dict) -> str:
    """Migrate, make the demo, give its people PASSWORD; returns a case page with similar past cases."""
    manage(env, "migrate", "--no-input", "-v", "0")
    manage(env, "demo")
    script = (
        "from django.contrib.auth import get_user_model\n"
        "from cases.models import Case\n"
        "from organisations.context import organisation_context\n"
        "from organisations.models import Organisation\n"
        "for user in get_user_model().objects.filter(username__in=['analyst', 'compliance']):\n"
        f"    user.set_password({PASSWORD!r}); user.save()\n"
        "with organisation_context(Organisation.objects.get(slug='default')):\n"
        "    case = Case.objects.open().exclude(status='pending_approval').order_by('-opened_at').first()\n"
        "    print(case.reference)\n"
    )
    return f"/cases/{manage(env, 'shell', '-c', script).strip().splitlines()[-1]}/"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="finobs-screenshots-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env |= {"SQLITE_PATH": str(Path(tmp) / "demo.sqlite3"), "MFA_REQUIRED_FOR": "none", "LOG_LEVEL": "WARNING"}
        case = prepare(env)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "serve", "--port", str(port)], cwd=ROOT, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url)
            IMAGES.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = {}
                for role, path, name in PAGES:
                    if role not in pages:
                        pages[role] = page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                        page.goto(f"{url}/accounts/login/?next=/cases/")
                        page.fill("input[name=username]", role)
                        page.fill("input[name=password]", PASSWORD)
                        page.click("button[type=submit]")
                        page.wait_for_url(f"{url}/cases/")
                    page = pages[role]
                    page.goto(url + path.format(case=case))
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)
                    print(f"docs/images/{name}.png  ({role}, {path.format(case=case)})")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
