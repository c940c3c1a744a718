"""Signed checkpoints reveal what the chain alone cannot: removed newest rows and a rebuilt table."""

from io import StringIO

import pytest
from django.core import signing
from django.core.management import CommandError, call_command

from audit.checkpoints import audit_checkpoint_write, audit_checkpoints_read
from audit.services import audit_verify

pytestmark = pytest.mark.django_db


def test_checkpoint_signs_the_head_once(chain):
    events = chain(3)

    first = audit_checkpoint_write()
    assert (first.head_id, first.head_hash, first.events) == (events[-1].pk, events[-1].hash, 3)
    assert audit_checkpoint_write() is None  # head unchanged
    chain(2)
    second = audit_checkpoint_write()
    assert second.events == 5
    assert audit_checkpoints_read() == [first, second]


def test_intact_chain_matches_its_checkpoints(chain):
    chain(2)
    audit_checkpoint_write()
    chain(2)
    audit_checkpoint_write()
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().splitlines() == [
        "Audit chain of default OK: 4 events verified, 2 signed checkpoints matched.",
        "Audit chain of the platform OK: 0 events verified.",
    ]


def test_removed_newest_rows_are_detected(chain, tamper):
    events = chain(4)
    audit_checkpoint_write()
    # Without a checkpoint, dropping the tail leaves a valid (shorter) chain.
    tamper("DELETE FROM audit_auditevent WHERE id >= %s", [events[2].pk])
    assert audit_verify().ok

    with pytest.raises(CommandError, match=rf"row {events[3].pk}, signed as the head .* is gone: rows were removed"):
        call_command("verify_audit")


def test_rebuilt_chain_differs_from_the_checkpoint(chain, tamper):
    events = chain(3)
    audit_checkpoint_write()
    # Rewrite the last row's payload and re-hash it: the chain links still hold, the signed head does not.
    from audit.services.chain import _event_hash

    last = events[-1]
    last.payload = {"seq": 1000}
    tamper(
        "UPDATE audit_auditevent SET payload = %s, hash = %s WHERE id = %s",
        ['{"seq": 1000}', _event_hash(last), last.pk],
    )
    assert audit_verify().ok

    report = audit_verify(checkpoints=audit_checkpoints_read())
    assert (report.ok, report.first_bad_id) == (False, last.pk)
    assert "differs from the signed checkpoint" in report.reason


def test_forged_checkpoint_line_is_refused(chain, checkpoint_file):
    chain(1)
    audit_checkpoint_write()
    payload, signature = checkpoint_file.read_text().strip().split(":", 1)
    forged = signing.b64_encode(signing.b64_decode(payload.encode()).replace(b'"events":1', b'"events":9'))
    checkpoint_file.write_text(f"{forged.decode()}:{signature}\n")

    with pytest.raises(CommandError, match=r"Audit checkpoints FAILED: .*line 1: signature or content invalid"):
        call_command("verify_audit")


def test_beat_task_writes_a_checkpoint(chain):
    from audit.tasks import audit_checkpoint_task

    events = chain(2)
    assert audit_checkpoint_task.apply().get() == [events[-1].pk, None]  # the default organisation; the platform
