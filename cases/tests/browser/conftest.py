"""Browser tests: a real ASGI server (daphne, in a child process) on the test database, and Chromium."""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from conftest import serve_asgi

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
DOC_IMAGES = Path(settings.BASE_DIR) / "docs" / "images"


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("browser") for item in items):
        return
    if not os.access(CHROMIUM, os.X_OK):
        raise pytest.UsageError(f"Browser tests need Chromium at {CHROMIUM} (bin/test installs Debian's chromium).")


@pytest.fixture
def asgi_server(transactional_db):
    """http://localhost:<port> served by daphne with finobs' ASGI app (HTTP, WebSockets, static files)."""
    yield from serve_asgi("localhost", static_files=True)


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; the test's own ORM calls are
    # still plain synchronous code, so Django's async-safety guard does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "worklist") saves test-artifacts/worklist.png (and docs/images/ with UPDATE_DOC_IMAGES=1)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("UPDATE_DOC_IMAGES") == "1":
            DOC_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOC_IMAGES / f"{name}.png")
        return path

    return save


def log_in(browser, base_url: str, username: str, password: str):
    """A page of a new browser context, signed in as `username` and on the worklist."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base_url}/accounts/login/?next=/cases/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/cases/")
    return page
