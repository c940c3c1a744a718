"""Browser tests of ingestion's pages reuse the workspace's daphne + Chromium fixtures."""

from cases.tests.browser.conftest import (  # noqa: F401
    asgi_server,
    browser,
    pytest_collection_modifyitems,
    screenshot,
)
