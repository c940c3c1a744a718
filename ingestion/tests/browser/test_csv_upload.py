"""An analyst uploads a CSV with a bad row in the browser, watches the progress reach 100% and reads the error."""

import pytest

from ingestion.models import UploadJob
from scoring.models import Transaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
CSV = b"""external_id,account_id,amount,currency,timestamp,merchant_category,country,channel,branch
br-1,acc-1,120.00,EUR,2026-11-20T09:00:00Z,5411,DE,card_present,Berlin
br-2,acc-2,eleven,EUR,2026-11-20T09:05:00Z,5411,DE,card_present,Berlin
br-3,acc-3,75.10,EUR,2026-11-20T09:10:00+01:00,5812,FR,online,Paris
"""


def test_analyst_uploads_a_csv_and_sees_progress_and_row_errors(
    champion, make_user, asgi_server, browser, screenshot, celery_worker_if_queued
):
    analyst = make_user("analyst", "alice")
    analyst.set_password(PASSWORD)
    analyst.save()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{asgi_server}/accounts/login/?next=/ingest/uploads/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{asgi_server}/ingest/uploads/")
    assert page.locator('nav.mainnav a[href="/ingest/uploads/"]').get_attribute("aria-current") == "page"

    page.set_input_files("input[name=file]", {"name": "branch.csv", "mimeType": "text/csv", "buffer": CSV})
    page.click("[data-testid=upload-form] button[type=submit]")
    page.wait_for_url(f"{asgi_server}/ingest/uploads/*/")

    page.wait_for_selector("#upload-progress[data-status=done]")
    assert page.inner_text("[data-testid=percent]") == "100%"
    assert page.locator("#upload-progress progress").get_attribute("value") == "100"
    assert page.inner_text("[data-testid=accepted]") == "2"
    assert page.inner_text("[data-testid=invalid]") == "1"
    rows = page.locator("[data-testid=row-errors] tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("td").all_inner_texts() == ["2", "amount", "Invalid decimal string"]
    screenshot(page, "csv-upload")

    job = UploadJob.objects.get()
    assert (job.status, job.accepted, job.invalid) == ("done", 2, 1)
    assert Transaction.objects.get(external_id="br-3").metadata == {"branch": "Paris"}

    page.click("text=CSV uploads")
    assert page.locator("[data-testid=upload-jobs] tr[data-job]").count() == 1
