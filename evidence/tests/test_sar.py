"""SAR drafts: made when a closure as SAR filed is proposed, edited by the analyst, approved with the closure,
exported as the SAR package (the case bundle plus sar.json); subjects hashed in the audit trail only."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from approvals.services import approval_decide
from audit.models import AuditEvent
from cases.models import Approval, SarDraft
from cases.services import case_close
from evidence.services.sar import SAR_FIELDS
from evidence.tests.conftest import members

pytestmark = pytest.mark.django_db


def propose_sar(case, analyst):
    case_close(case=case, outcome="sar_filed", rationale="Structuring below the threshold", actor=analyst)
    return SarDraft.objects.get(case=case)


@pytest.fixture
def sar_case(open_case, personas):
    case = open_case(
        "a-1",
        n=3,
        rule_hits=[{"rule": "VELOCITY", "name": "Rapid movement of funds", "action": "flag", "reason": "5 in 1h"}],
    )
    for txn in case.transactions.all():
        txn.metadata = {"iban": "DE89370400440532013000", "merchant_note": "x"}
        txn.save()
    return case


def test_proposing_a_sar_filing_prepares_the_draft_from_the_evidence(sar_case, personas, settings):
    settings.PII_HASH_ENABLED = True
    draft = propose_sar(sar_case, personas["alice"])
    assert draft.status == SarDraft.Status.DRAFT and draft.approval.outcome == "sar_filed"
    assert draft.subjects == [{"account_id": "a-1", "identifiers": {"iban": ["DE89370400440532013000"]}}]
    assert draft.totals == {"EUR": "28500.0000"} and draft.transaction_count == 3
    assert draft.typologies == ["Rapid movement of funds"] and draft.rule_evidence[0]["hits"] == 3
    assert draft.model_evidence["highest_score"] == "0.9000"
    assert "a-1" in draft.narrative and "28500.0000 EUR" in draft.narrative and "Structuring" in draft.narrative
    # The audit trail carries the subjects hashed, never in clear.
    event = AuditEvent.objects.get(action="sar.draft_prepared")
    stored = json.dumps(event.payload)
    assert "DE89370400440532013000" not in stored and "a-1" not in stored
    assert event.payload["subjects"][0]["account_id"].startswith("pii:")


def test_the_analyst_edits_the_narrative_until_the_closure_is_approved(client, sar_case, personas):
    propose_sar(sar_case, personas["alice"])
    client.force_login(personas["alice"])
    url = f"/api/v1/cases/{sar_case.reference}/sar/"
    edited = client.patch(
        url, {"narrative": "Funds moved through a-1 in 3 rapid steps.", "typologies": ["Layering"]}, "application/json"
    )
    assert edited.status_code == 200 and edited.json()["narrative_edited_by"] == "alice"
    assert edited.json()["typologies"] == ["Layering"]
    page = client.get(f"/cases/{sar_case.reference}/sar")
    assert b"Funds moved through a-1" in page.content and b'data-testid="sar-form"' in page.content
    empty = client.patch(url, {"narrative": "  "}, "application/json")
    assert (empty.status_code, empty.json()["code"]) == (400, "invalid")

    approval = Approval.objects.get(case=sar_case, status="pending")
    approval_decide(approval=approval, actor=personas["carol"], approve=True, note="file it")
    draft = SarDraft.objects.get(case=sar_case)
    assert draft.status == SarDraft.Status.APPROVED and draft.approved_at is not None
    assert draft.narrative == "Funds moved through a-1 in 3 rapid steps."  # approved as the analyst wrote it
    locked = client.patch(url, {"narrative": "changed afterwards"}, "application/json")
    assert (locked.status_code, locked.json()["code"]) == (409, "sar_approved")
    client.force_login(personas["bob"])  # another team's analyst does not see the case
    assert client.get(url).status_code == 404


def test_a_rejected_closure_sets_the_draft_aside_and_a_new_proposal_refreshes_it(sar_case, personas):
    draft = propose_sar(sar_case, personas["alice"])
    approval_decide(approval=draft.approval, actor=personas["carol"], approve=False, note="more evidence")
    assert SarDraft.objects.get(case=sar_case).status == SarDraft.Status.REJECTED
    again = propose_sar(sar_case, personas["alice"])
    assert again.pk == draft.pk and again.status == SarDraft.Status.DRAFT and again.approval_id != draft.approval_id


def test_the_sar_package_is_the_case_bundle_plus_sar_json(client, sar_case, personas, export_paths, capsys):
    draft = propose_sar(sar_case, personas["alice"])
    approval_decide(approval=draft.approval, actor=personas["carol"], approve=True, note="file it")
    client.force_login(personas["dave"])
    response = client.post(f"/api/v1/cases/{sar_case.reference}/export", {"sar": True}, "application/json")
    assert response.status_code == 201 and response.json()["kind"] == "sar"
    path = export_paths / "sar.zip"
    path.write_bytes(b"".join(client.get(response.json()["download_url"]).streaming_content))
    files = members(path)
    assert {"case.json", "transactions.csv", "audit_events.jsonl", "sar.json"} <= set(files)
    sar = json.loads(files["sar.json"])
    assert sar["status"] == "approved" and sar["subjects"][0]["identifiers"]["iban"] == ["DE89370400440532013000"]
    assert sar["activity"]["totals"] == {"EUR": "28500.0000"} and sar["approval"]["approved_by"] == "carol"
    assert {f["path"] for f in sar["field_map"]} == {f.path for f in SAR_FIELDS}
    call_command("verify_bundle", str(path))
    assert "VERIFIED: sar bundle" in capsys.readouterr().out


def test_the_case_page_offers_export_legal_hold_and_the_sar(client, sar_case, personas):
    propose_sar(sar_case, personas["alice"])
    client.force_login(personas["carol"])
    page = client.get(f"/cases/{sar_case.reference}/").content
    assert b'data-testid="export-form"' in page and b'data-testid="legal-hold-form"' in page
    assert b'data-testid="sar-link"' in page
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{sar_case.reference}/").content
    assert b'data-testid="export-form"' not in page and b'data-testid="legal-hold-form"' not in page
    client.force_login(personas["carol"])
    exported = client.post(f"/cases/{sar_case.reference}/export")
    assert exported.status_code == 302 and exported["Location"].startswith("/exports/")
    detail = client.get(exported["Location"])
    assert b'data-testid="download"' in detail.content


def test_docs_sar_md_maps_every_field():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "sar.md").read_text()
    for field in SAR_FIELDS:
        assert f"| `{field.path}` | {field.fincen} | `{field.goaml}` |" in doc, field.path
