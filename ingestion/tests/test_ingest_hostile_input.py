"""Hostile and odd input to POST /api/v1/transactions/ingest: per-item errors or a 400, never a 500."""

import json

import pytest
from django.test import Client

from conftest import transaction_record
from scoring.models import Transaction

URL = "/api/v1/transactions/ingest"
pytestmark = pytest.mark.django_db


def post_raw(data: bytes | str, key: str):
    return Client().post(URL, data=data, content_type="application/json", HTTP_X_WEBHOOK_KEY=key)


BAD_ITEMS = [
    ("nested garbage", {"external_id": {"a": [1, {"b": None}]}}, "external_id"),
    ("huge external id", {"external_id": "x" * 1_000_000}, "external_id"),
    ("NaN amount", {"amount": "NaN"}, "amount"),
    ("signalling NaN", {"amount": "sNaN"}, "amount"),
    ("Infinity amount", {"amount": "-Infinity"}, "amount"),
    ("1e400 as a string", {"amount": "1e400"}, "amount"),
    ("too many decimals", {"amount": "1e-400"}, "amount"),
    ("amount as bool", {"amount": True}, "amount"),
    ("amount as object", {"amount": {"value": 1}}, "amount"),
    ("amount above the cap", {"amount": 10**30}, "amount"),
    ("timestamp without offset", {"timestamp": "2026-11-20T14:03:00"}, "timestamp"),
    ("date only", {"timestamp": "2026-11-20"}, "timestamp"),
    ("year 1 with +14:00", {"timestamp": "0001-01-01T00:00:00+14:00"}, "timestamp"),
    ("year 9999", {"timestamp": "9999-12-31T23:59:59-14:00"}, "timestamp"),
    ("NUL in an id", {"account_id": "acc\u0000x"}, "account_id"),
    ("NUL in metadata", {"metadata": {"note": "a\u0000b"}}, "metadata"),
    ("NUL in an unknown field", {"free_text": "\u0000"}, "metadata"),
    ("metadata as a list", {"metadata": [1, 2]}, "metadata"),
    ("merchant id as a number", {"merchant_id": 123}, "merchant_id"),
    ("three-letter country", {"country": "DEU"}, "country"),
    ("channel with spaces", {"channel": "CARD PRESENT"}, "channel"),
    ("currency not ISO", {"currency": "XYZ"}, "currency"),
    ("null required field", {"currency": None}, "currency"),
]


def test_each_bad_item_is_reported_with_its_field_and_the_good_ones_stored(champion, api_key):
    records = [transaction_record(0)]
    records += [transaction_record(i + 1, **change) for i, (_, change, _) in enumerate(BAD_ITEMS)]
    records.append(transaction_record(999))
    response = post_raw(json.dumps(records), api_key[1])
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["accepted"] == 2
    reported = {e["index"]: e["field"] for e in body["errors"]}
    expected = {i + 1: field for i, (_, _, field) in enumerate(BAD_ITEMS)}
    assert reported == expected, [(label, reported.get(i + 1)) for i, (label, _, _) in enumerate(BAD_ITEMS)]
    assert all(e["message"] for e in body["errors"])
    assert set(Transaction.objects.values_list("external_id", flat=True)) == {"tx-0", "tx-999"}


def test_unicode_and_unknown_fields_are_kept(champion, api_key):
    record = transaction_record(1, merchant_id="Café Zürich ☕", ip="10.0.0.1", metadata={"note": "日本"})
    body = post_raw(json.dumps([record]), api_key[1]).json()
    assert body["accepted"] == 1
    stored = Transaction.objects.get()
    assert stored.merchant_id == "Café Zürich ☕"
    assert stored.metadata == {"ip": "10.0.0.1", "note": "日本"}


def test_a_float_amount_is_read_as_written(champion, api_key):
    body = post_raw(json.dumps([transaction_record(1, amount=0.1)]), api_key[1]).json()
    assert body["accepted"] == 1
    assert str(Transaction.objects.get().amount) == "0.1000"


@pytest.mark.parametrize(
    "raw",
    [
        b"[\xff\xfe\x00]",  # not UTF-8
        b'[{"external_id": "\xff\xfe"}]',  # not UTF-8 inside a string
        b'[{"amount": NaN}]',  # NaN is not JSON
        b'[{"amount": Infinity}]',
        b'[{"amount": 1e400}]',  # a JSON number no float holds
        b"[" * 200_000 + b"]" * 200_000,  # nesting deeper than any parser should follow
        b'["\\ud800"]',  # a lone surrogate escape
    ],
    ids=["non-utf8", "non-utf8-in-string", "nan", "infinity", "1e400", "deep-nesting", "lone-surrogate"],
)
def test_bodies_that_are_not_json_are_400(champion, api_key, raw):
    response = post_raw(raw, api_key[1])
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "malformed_json"
    assert not Transaction.objects.exists()
