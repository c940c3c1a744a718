"""Storing a scored batch: its transactions, their accounts' profiles and their decisions, then telling cases.

The one writer of scoring's transaction, decision and profile tables on the ingest path. Inserts go by
COPY on PostgreSQL (kernel.bulk); instances are built without Model.__init__ (kernel.instances).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kernel.bulk import bulk_insert
from kernel.timing import timed
from scoring.models import Decision, Transaction
from scoring.profiles import profiles_record
from scoring.services.batch import BatchScore
from scoring.signals import decisions_stored


@dataclass
class StoredBatch:
    """A batch as stored, in the order of its transactions."""

    transactions: Sequence[Transaction]
    score: BatchScore
    decisions: list[Decision] = field(default_factory=list)
    # Transaction id -> the reference of the case its flagged decision opened or joined. The receivers of
    # decisions_stored (cases) fill it in, inside the same transaction; nothing is merged back.
    case_references: dict[int, str] = field(default_factory=dict)
    # Wall time in ms: insert, profiles, receivers (what decisions_stored set off).
    timings_ms: dict[str, float] = field(default_factory=dict)

    def timed(self, stage: str):
        """A context manager adding the block's wall time to `timings_ms[stage]`, and a span "scoring.<stage>"."""
        return timed(self.timings_ms, stage, span=f"scoring.{stage}")


def batch_store(*, transactions: Sequence[Transaction], score: BatchScore, actor, created_at: datetime) -> StoredBatch:
    """Store `transactions` (unsaved) with the decisions of their `score` (PreparedBatch.score).

    Call inside the caller's transaction (transaction.atomic): the transactions, their accounts' profiles
    and the decisions are written, then `decisions_stored` is sent, so that cases open or join cases in the
    same transaction.
    """
    stored = StoredBatch(transactions=transactions, score=score)
    with stored.timed("insert"):
        bulk_insert(Transaction, transactions)
    with stored.timed("profiles"):
        profiles_record(transactions)
    with stored.timed("insert"):
        stored.decisions = bulk_insert(Decision, score.decisions(transactions, created_at=created_at))
    with stored.timed("receivers"):
        decisions_stored.send(sender=StoredBatch, batch=stored, actor=actor)
    return stored
