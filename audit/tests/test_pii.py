"""Personal data never reaches the audit table in clear."""

import pytest

from audit.models import AuditEvent
from audit.pii import PII_KEYS, pii_hash, redact_pii
from audit.services import audit_log, audit_verify


def test_pii_hash_is_stable_prefixed_and_salted(settings):
    first = pii_hash("alice@example.com")
    assert first == pii_hash("alice@example.com")
    assert first.startswith("pii:")
    assert len(first) == 4 + 32
    assert pii_hash(12345) == pii_hash("12345")
    settings.PII_HASH_SALT = "another-salt"
    assert pii_hash("alice@example.com") != first


def test_redact_hashes_personal_keys_at_any_depth_and_leaves_the_rest():
    payload = {
        "email": "alice@example.com",
        "amount": "12.50",
        "customer": {"full_name": "Alice Smith", "IBAN": "DE89370400440532013000", "country": "DE"},
        "transactions": [{"account_id": "acc-1", "external_id": "t-1"}, {"account_id": None}],
        "address": {"street": "1 Main St", "lines": ["Flat 2", "Springfield"]},
    }

    redacted = redact_pii(payload)

    assert redacted["email"] == pii_hash("alice@example.com")
    assert redacted["amount"] == "12.50"
    assert redacted["customer"] == {
        "full_name": pii_hash("Alice Smith"),
        "IBAN": pii_hash("DE89370400440532013000"),
        "country": "DE",
    }
    assert redacted["transactions"] == [{"account_id": pii_hash("acc-1"), "external_id": "t-1"}, {"account_id": None}]
    assert redacted["address"] == {
        "street": pii_hash("1 Main St"),
        "lines": [pii_hash("Flat 2"), pii_hash("Springfield")],
    }
    assert payload["email"] == "alice@example.com", "the caller's payload is not modified"
    assert redact_pii(redacted) == redacted, "redacting twice changes nothing"
    assert redact_pii(None) is None
    assert {"iban", "card_number", "date_of_birth", "ip_address"} <= PII_KEYS


@pytest.mark.django_db
def test_audit_log_stores_only_hashed_personal_data():
    audit_log(actor=None, action="case.opened", payload={"name": "Alice Smith", "phone": "+44 20 7946 0000"})

    stored = AuditEvent.objects.get()
    assert stored.payload == {"name": pii_hash("Alice Smith"), "phone": pii_hash("+44 20 7946 0000")}
    assert not AuditEvent.objects.filter(payload__icontains="Alice").exists()
    assert audit_verify().ok


@pytest.mark.django_db
def test_nothing_is_hashed_when_disabled(settings):
    settings.PII_HASH_ENABLED = False
    payload = {"email": "alice@example.com", "nested": [{"iban": "DE89370400440532013000"}]}

    assert redact_pii(payload) == payload
    event = audit_log(actor=None, action="case.opened", payload=payload)
    event.refresh_from_db()
    assert event.payload == payload
