"""The SAR package's sar.json: the case's approved SAR draft, in clear, with the regulator fields it feeds.

SAR_FIELDS maps each sar.json field to the FinCEN SAR (BSA E-Filing) item and the goAML STR element it fills
(docs/sar.md renders the same table). An XML writer for either schema walks this list: it reads the value at
`path` and writes it where the official schema puts the named element, so adding one needs the schema, not a
change here.
"""

from dataclasses import dataclass

from cases.models import Case
from evidence.bundles import BundleWriter

SAR_FORMAT = "finobs-sar"
SAR_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SarField:
    path: str  # in sar.json, dotted; [] marks a list
    fincen: str  # FinCEN SAR (BSA E-Filing, FinCEN Form 111) item
    goaml: str  # goAML STR (UNODC goAML XML) element


SAR_FIELDS = [
    SarField("filing_institution.name", "2A Filing institution: legal name", "report/rentity_id, reporting_person"),
    SarField("report.reference", "2A Filing institution: internal control/file number", "report/entity_reference"),
    SarField("report.prepared_at", "1A Transmitter: filing date", "report/submission_date"),
    SarField(
        "subjects[].account_id", "4I Affected account number", "transaction/t_from_my_client/from_account/account"
    ),
    SarField("subjects[].identifiers.name", "4A Subject: last and first name", "t_person/last_name, first_name"),
    SarField("subjects[].identifiers.iban", "4I Affected account number (IBAN)", "t_account/iban"),
    SarField(
        "subjects[].identifiers.customer_id", "4C Subject identification: number", "t_person/identification/number"
    ),
    SarField("subjects[].identifiers.email", "4F Subject e-mail address", "t_person/email"),
    SarField("subjects[].identifiers.phone", "4E Subject telephone number", "t_person/phones/phone/tph_number"),
    SarField("subjects[].identifiers.address", "4B Subject address", "t_person/addresses/address"),
    SarField("subjects[].identifiers.date_of_birth", "4A Subject: date of birth", "t_person/birthdate"),
    SarField("activity.start", "3A item 30: date range of suspicious activity, from", "transaction/date_transaction"),
    SarField("activity.end", "3A item 30: date range of suspicious activity, to", "transaction/date_transaction"),
    SarField("activity.totals", "3A item 29: amount involved (in USD)", "transaction/amount_local (per currency)"),
    SarField("activity.transactions", "3A: the activity behind items 29-30 (transactions.csv)", "report/transaction"),
    SarField(
        "typologies[]", "3A: type of suspicious activity (category and subtype)", "report/report_indicators/indicator"
    ),
    SarField("evidence.rules[]", "5A Narrative: the detection rules that fired", "report/reason"),
    SarField("evidence.model", "5A Narrative: model scores and contributing features", "report/reason"),
    SarField("narrative", "5A Narrative description", "report/reason"),
    SarField("approval.approved_by", "2A Filing institution: contact office (the approver)", "reporting_person"),
]


def sar_document(case: Case) -> dict:
    """sar.json for `case`: its SAR draft with subjects in clear (the package is access-controlled)."""
    draft = case.sar_draft
    approval = draft.approval
    return {
        "format": SAR_FORMAT,
        "format_version": SAR_FORMAT_VERSION,
        "status": draft.status,
        "filing_institution": {"name": case.organisation.name, "slug": case.organisation.slug},
        "report": {"reference": case.reference, "prepared_at": draft.created_at, "approved_at": draft.approved_at},
        "subjects": draft.subjects,
        "activity": {
            "start": draft.activity_start,
            "end": draft.activity_end,
            "totals": draft.totals,
            "transactions": draft.transaction_count,
        },
        "typologies": draft.typologies,
        "evidence": {"rules": draft.rule_evidence, "model": draft.model_evidence},
        "narrative": draft.narrative,
        "approval": {
            "requested_by": approval.requested_by.get_username() if approval else None,
            "approved_by": approval.decided_by.get_username() if approval and approval.decided_by else None,
            "decided_at": approval.decided_at if approval else None,
        },
        "field_map": [{"path": f.path, "fincen_sar": f.fincen, "goaml_str": f.goaml} for f in SAR_FIELDS],
    }


def sar_member_write(bundle: BundleWriter, case: Case) -> None:
    bundle.add_json("sar.json", sar_document(case))
