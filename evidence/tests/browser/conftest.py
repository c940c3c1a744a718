"""The browser fixtures are cases' own (cases/tests/browser/conftest.py): daphne serving finobs, and Chromium."""

from cases.tests.browser.conftest import asgi_server, browser  # noqa: F401
