"""Every page works under the content security policy: Chromium reports no violation on any of them."""

import pytest

from cases.services import case_close
from cases.tests.browser.test_workspace_flow import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pages_break_no_rule_of_the_policy(asgi_server, browser, open_case, personas):
    case = open_case("a-1", risk_level="HIGH")
    case_close(case=case, outcome="confirmed_fraud", rationale="pattern", actor=personas["alice"])
    carol = personas["carol"]
    carol.set_password(PASSWORD)
    carol.is_staff = True
    carol.save()

    page = browser.new_page()
    page.set_default_timeout(15_000)
    violations = []
    page.on("console", lambda m: violations.append((page.url, m.text)) if "Content Security Policy" in m.text else None)
    page.goto(f"{asgi_server}/accounts/login/")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/cases/")
    for path, ready in (
        ("/", "canvas"),
        ("/cases/", "table.cases"),
        (f"/cases/{case.reference}/", "[data-testid=case-status]"),
        ("/approvals/", "[data-testid=approvals]"),
        ("/admin/", "#content"),
        ("/admin/cases/case/", "#result_list"),
        ("/api/docs/", ".swagger-ui .information-container"),
    ):
        page.goto(f"{asgi_server}{path}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
    assert violations == []
