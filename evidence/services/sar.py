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
    SarField(
        "filing_institution.name",
        "Part IV item 79: Filing institution legal name",
        "report/rentity_id + reporting_person",
    ),
    SarField(
        "report.reference",
        "Part IV item 94: Filing institution internal control/file number",
        "report/entity_reference",
    ),
    SarField("report.prepared_at", "Filing date (E-Filing submission)", "report/submission_date"),
    SarField(
        "subjects[].account_id",
        "Part I item 27: Account number(s) affected",
        "transaction/t_from_my_client/from_account/account",
    ),
    SarField("subjects[].identifiers.name", "Part I items 4-6: Subject name", "t_person/first_name, last_name"),
    SarField("subjects[].identifiers.iban", "Part I item 27: Account number (IBAN)", "t_account/iban"),
    SarField(
        "subjects[].identifiers.customer_id", "Part I item 16: Identification number", "t_person/identification/number"
    ),
    SarField("subjects[].identifiers.email", "Part I item 22: E-mail address", "t_person/email"),
    SarField("subjects[].identifiers.phone", "Part I item 21: Telephone number", "t_person/phones/phone"),
    SarField("subjects[].identifiers.address", "Part I items 11-15: Address", "t_person/addresses/address"),
    SarField("subjects[].identifiers.date_of_birth", "Part I item 19: Date of birth", "t_person/birthdate"),
    SarField(
        "activity.start",
        "Part II item 29: Date or date range of suspicious activity (from)",
        "transaction/date_transaction (earliest)",
    ),
    SarField(
        "activity.end",
        "Part II item 29: Date or date range of suspicious activity (to)",
        "transaction/date_transaction (latest)",
    ),
    SarField(
        "activity.totals",
        "Part II item 30: Total dollar amount involved",
        "transaction/amount_local (summed per currency)",
    ),
    SarField(
        "activity.transactions",
        "Part II items 29-30 support (transactions.csv in the package)",
        "report/transaction (one per row of transactions.csv)",
    ),
    SarField(
        "typologies[]",
        "Part II items 31-42: Type of suspicious activity (category and type)",
        "report/report_indicators/indicator",
    ),
    SarField("evidence.rules[]", "Part V narrative: detection rules that fired", "report/reason"),
    SarField("evidence.model", "Part V narrative: model scores and contributing features", "report/reason"),
    SarField("narrative", "Part V: Suspicious activity information - narrative", "report/reason"),
    SarField("approval.approved_by", "Part IV: Filing institution contact (the approver)", "reporting_person"),
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
