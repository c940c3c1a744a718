"""What the database knows about a batch's accounts before the batch: the input of behavioural features.

Loaded in a constant number of queries per batch (at most four), whatever its size:
  1. raw recent rows of the batch's accounts (the velocity window before the batch, and the batch's span),
  2. per-account aggregates over the profile window before that (count, log-amount moments, hour of
     day on the unit circle, last time seen),
  3. per (account, country) counts over the profile window,
  4. per (account, merchant) counts over the profile window, for the batch's merchants only.
Training builds the same features with an empty history: the generated set is one long batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db.models import Count, FloatField, Max, Sum, Value
from django.db.models.functions import Abs, Cast, Cos, ExtractHour, ExtractMinute, ExtractSecond, Ln, Power, Sin

from scoring.models import Transaction

# The longest velocity window: raw rows inside it are read one by one.
VELOCITY_LOOKBACK = timedelta(hours=24)
# How far back an account's behavioural profile (typical amount, countries, merchants, hours) reaches.
PROFILE_LOOKBACK = timedelta(days=90)


@dataclass(frozen=True)
class RecentRows:
    """Raw transactions as columns (the batch's own rows use the same shape)."""

    account: np.ndarray  # object (str)
    epoch_s: np.ndarray  # float64
    amount: np.ndarray  # float64
    country: np.ndarray  # object (str, upper case, may be "")
    merchant: np.ndarray  # object (str, may be "")

    @classmethod
    def empty(cls) -> RecentRows:
        blank = np.empty(0, dtype=object)
        return cls(blank, np.empty(0), np.empty(0), blank, blank)

    @classmethod
    def of(cls, transactions: Sequence[Transaction]) -> RecentRows:
        n = len(transactions)
        return cls(
            account=np.array([t.account_id for t in transactions], dtype=object),
            epoch_s=np.fromiter((epoch_s(t.occurred_at) for t in transactions), dtype=np.float64, count=n),
            amount=np.fromiter((float(t.amount) for t in transactions), dtype=np.float64, count=n),
            country=np.array([(t.country or "").strip().upper() for t in transactions], dtype=object),
            merchant=np.array([t.merchant_id or "" for t in transactions], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class Profile:
    """Aggregates of one account's transactions in the profile window (before the recent rows)."""

    count: int
    sum_log_amount: float  # sum of log1p(|amount|)
    sum_log_amount_sq: float
    sum_hour_sin: float
    sum_hour_cos: float
    last_epoch_s: float


@dataclass(frozen=True)
class AccountHistory:
    recent: RecentRows = field(default_factory=RecentRows.empty)
    profiles: dict[str, Profile] = field(default_factory=dict)
    country_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    merchant_counts: dict[tuple[str, str], int] = field(default_factory=dict)


EMPTY_HISTORY = AccountHistory()


def epoch_s(occurred_at: datetime) -> float:
    # A naive datetime should not reach here (ingestion requires an offset); read it as UTC if it does.
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return occurred_at.timestamp()


def load_history(transactions: Sequence[Transaction]) -> AccountHistory:
    """The stored history of the batch's accounts, in four queries (none for an empty batch).

    Stored rows that are themselves in the batch are not there yet: ingestion scores before it inserts.
    """
    if not transactions:
        return EMPTY_HISTORY
    accounts = sorted({t.account_id for t in transactions})
    first = min(t.occurred_at for t in transactions)
    last = max(t.occurred_at for t in transactions)
    recent_from = first - VELOCITY_LOOKBACK
    profile_from = first - PROFILE_LOOKBACK
    mine = Transaction.objects.filter(account_id__in=accounts).order_by()

    rows = list(
        mine.filter(occurred_at__gte=recent_from, occurred_at__lte=last).values_list(
            "account_id", "occurred_at", "amount", "country", "merchant_id"
        )
    )
    recent = RecentRows(
        account=np.array([r[0] for r in rows], dtype=object),
        epoch_s=np.fromiter((r[1].timestamp() for r in rows), dtype=np.float64, count=len(rows)),
        amount=np.fromiter((float(r[2]) for r in rows), dtype=np.float64, count=len(rows)),
        country=np.array([(r[3] or "").upper() for r in rows], dtype=object),
        merchant=np.array([r[4] or "" for r in rows], dtype=object),
    )

    window = mine.filter(occurred_at__gte=profile_from, occurred_at__lt=recent_from)
    log_amount = Ln(Abs(Cast("amount", FloatField())) + Value(1.0))
    angle = (
        ExtractHour("occurred_at", tzinfo=UTC) * Value(3600.0)
        + ExtractMinute("occurred_at", tzinfo=UTC) * Value(60.0)
        + ExtractSecond("occurred_at", tzinfo=UTC)
    ) * Value(2 * math.pi / 86_400)
    profiles = {
        row["account_id"]: Profile(
            count=row["n"],
            sum_log_amount=row["s1"] or 0.0,
            sum_log_amount_sq=row["s2"] or 0.0,
            sum_hour_sin=row["ss"] or 0.0,
            sum_hour_cos=row["sc"] or 0.0,
            last_epoch_s=row["last"].timestamp(),
        )
        for row in window.values("account_id").annotate(
            n=Count("id"),
            s1=Sum(log_amount, output_field=FloatField()),
            s2=Sum(Power(log_amount, 2), output_field=FloatField()),
            ss=Sum(Sin(angle), output_field=FloatField()),
            sc=Sum(Cos(angle), output_field=FloatField()),
            last=Max("occurred_at"),
        )
    }
    country_counts = {
        (a, (c or "").upper()): n
        for a, c, n in window.values("account_id", "country")
        .annotate(n=Count("id"))
        .values_list("account_id", "country", "n")
    }
    merchants = sorted({t.merchant_id for t in transactions if t.merchant_id})
    merchant_counts = (
        {
            (a, m): n
            for a, m, n in window.filter(merchant_id__in=merchants)
            .values("account_id", "merchant_id")
            .annotate(n=Count("id"))
            .values_list("account_id", "merchant_id", "n")
        }
        if merchants
        else {}
    )
    return AccountHistory(
        recent=recent, profiles=profiles, country_counts=country_counts, merchant_counts=merchant_counts
    )
