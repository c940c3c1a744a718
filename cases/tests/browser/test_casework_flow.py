"""Case work in the browser: attach a file and download it with its hash shown, tick the closing checklist,
merge two cases, and bulk-close cases as false positives (four-eyes for the high one)."""

import hashlib
from pathlib import Path

import pytest

from cases.models import Approval, Attachment, Case, ChecklistItem, ClosingChecklist
from cases.tests.browser.test_workspace_flow import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATEMENT = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 20


@pytest.fixture
def private_storage(settings, tmp_path):
    """Set before the server starts, so its process stores attachments here too."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    settings.ATTACHMENT_SCANNER = "none"
    return tmp_path


def test_attach_download_tick_merge_and_bulk_close(
    private_storage, asgi_server, browser, screenshot, personas, open_case
):
    alice = personas["alice"]
    alice.set_password(PASSWORD)
    alice.save()
    checklist = ClosingChecklist.objects.create(
        name="False positive review", outcome="false_positive", min_severity="high"
    )
    for i, text in enumerate(["Customer contacted", "Payment purpose documented"]):
        ChecklistItem.objects.create(checklist=checklist, text=text, position=i)
    main = open_case("a-100", risk_level="HIGH")
    duplicate = open_case("a-100-joint", risk_level="MEDIUM")
    low = open_case("a-200", risk_level="LOW")

    page = log_in(browser, asgi_server, "alice")

    # Attach a statement; the list shows its SHA-256, and the download is the same bytes.
    page.goto(f"{asgi_server}/cases/{main.reference}/")
    page.wait_for_selector("form.attachform")
    page.set_input_files(
        "#attach-file", files=[{"name": "statement.pdf", "mimeType": "application/pdf", "buffer": STATEMENT}]
    )
    page.fill("#attach-body", "Bank statement for March, from the customer")
    page.click("form.attachform button[type=submit]")
    sha = hashlib.sha256(STATEMENT).hexdigest()
    page.wait_for_selector(f"[data-testid=attachments] code.sha256 >> text={sha}")
    with page.expect_download() as download:
        page.click("[data-testid=attachments] a[download]")
    assert Path(download.value.path()).read_bytes() == STATEMENT
    assert download.value.suggested_filename == "statement.pdf"
    page.locator("#attachments-h").scroll_into_view_if_needed()
    screenshot(page, "case-attachments")

    # Tick the closing checklist, item by item.
    for _ in range(2):
        page.wait_for_selector("[data-testid=checklist] button[data-tick]")
        page.locator("[data-testid=checklist] button[data-tick]").first.click()
        page.wait_for_selector(".msg.success")
    page.wait_for_selector("[data-testid=checklist] >> text=complete")
    page.locator("#checklist-h").scroll_into_view_if_needed()
    screenshot(page, "case-checklist")

    # Merge the joint account's case into the main one from the worklist.
    page.goto(f"{asgi_server}/cases/")
    page.check(f'input[name=reference][value="{duplicate.reference}"]')
    bar = page.locator("[data-testid=bulk-actions]")
    bar.locator("select[name=bulk_action]").select_option("merge")
    bar.locator("input[name=into]").fill(main.reference)
    bar.locator("input[name=reason]").fill("Joint account of the same customer")
    bar.locator("button[type=submit]").click()
    page.wait_for_selector(f".msg.success >> text=into {main.reference}")

    # Bulk-close both remaining cases as false positives: the low one closes, the high one waits for approval.
    page.check(f'input[name=reference][value="{main.reference}"]')
    page.check(f'input[name=reference][value="{low.reference}"]')
    bar.locator("select[name=bulk_action]").select_option("close_false_positive")
    bar.locator("input[name=reason]").fill("Salary payments from a known employer")
    screenshot(page, "worklist-bulk")
    bar.locator("button[type=submit]").click()
    page.wait_for_selector(".msg.success >> text=1 closed, 1 proposed")

    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.outcome, duplicate.merged_into_id) == ("closed", "merged", main.pk)
    main.refresh_from_db()
    low.refresh_from_db()
    assert main.status == Case.Status.PENDING_APPROVAL and low.outcome == "false_positive"
    assert Approval.objects.get(case=main, status="pending").outcome == "false_positive"
    assert Attachment.objects.get().sha256 == sha
    # The duplicate's reference leads to the surviving case.
    page.goto(f"{asgi_server}/cases/{duplicate.reference}/")
    page.wait_for_url(f"{asgi_server}/cases/{main.reference}/")
