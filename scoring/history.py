"""What the database knows about a batch's accounts and counterparties before the batch: the input of the
behavioural and counterparty features.

Loaded in a constant number of queries per batch (five), whatever its size:
  1. raw recent rows of the batch's accounts (the velocity window before the batch, and the batch's span),
  2. their AccountProfile rows (running aggregates over everything stored: count, log-amount moments,
     time of day on the unit circle, last time seen, largest amount),
  3. their AccountValueCount rows (per country and merchant, and per merchant category and amount band; on
     PostgreSQL only the triples the features look up: the batch's own, the merchants of the recent rows,
     and every band of the batch's (account, category) pairs),
  4. raw recent rows paid to the batch's counterparties (merchants and payees) in the same window,
  5. the CounterpartySender rows of those counterparties active in the last 7 days (first and last payment
     of each sender), for the 7-day fan-in and the first-time senders; on PostgreSQL the senders that add
     exactly one to every batch row's 7-day count come back as a count per counterparty.
The recent rows are subtracted from the profiles, so a profile means "everything before the velocity
window" and the recent rows are then counted one by one, in time order, with the batch.
Training builds the same features with an empty history: the generated set is one long batch.

Why running aggregates: aggregating 90 days of history per batch measured ~3 s on PostgreSQL for a
10,000-row batch over 250,000 stored rows (bench/score.py --with-history); reading profiles costs ~60 ms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import numpy as np
from django.db import connection
from django.db.models import Q, QuerySet

from kernel.arrays import text_array
from scoring.models import AccountProfile, AccountValueCount, CounterpartySender, Transaction
from scoring.risk_tables import EUR_PER_UNIT, REPORTING_CURRENCIES

# The longest velocity window: raw rows inside it are read one by one.
VELOCITY_LOOKBACK = timedelta(hours=24)
# The longest counterparty window: beyond the raw rows, each sender's latest payment in it is read.
COUNTERPARTY_LOOKBACK = timedelta(days=7)
# Seconds kept clear of a window's edge when senders are folded into counts, so rounding cannot move one.
FOLD_MARGIN_S = 1.0
# Per account and category, its log1p(euro amounts) are counted in bands of this width (the last one open):
# the streaming form of their distribution (AccountValueCount rows of kind AMOUNT_BAND), whose median and
# MAD the robust outlier features read.
AMOUNT_BAND_WIDTH = 0.25
AMOUNT_BANDS = 64  # 0 .. 16 in log1p(euros): the last band holds everything from 8.9 million euros up


def amount_band(log_eur: np.ndarray) -> np.ndarray:
    """The band index of each log1p(|amount in euros|)."""
    return np.clip(np.floor(log_eur / AMOUNT_BAND_WIDTH), 0, AMOUNT_BANDS - 1).astype(np.int64)


def band_value(category: str, band: int) -> str:
    """AccountValueCount.value of a category's amount band: the category, a colon, two digits."""
    return f"{category}:{band:02d}"


def eur_amounts(amount: np.ndarray, currencies) -> np.ndarray:
    """Amounts in euros at the reference rates (scoring.risk_tables.EUR_PER_UNIT; unknown currencies at par)."""
    rates = np.fromiter(
        (EUR_PER_UNIT.get((c or "").strip().upper(), 1.0) for c in currencies), dtype=np.float64, count=len(amount)
    )
    return amount * rates


def reporting_amounts(amount: np.ndarray, amount_eur: np.ndarray, currencies) -> np.ndarray:
    """Amounts in the currency their reporting threshold is set in: their own where 10,000 units of it is one
    (REPORTING_CURRENCIES), else euros, so 9,000 yen (about 55 euros) is not "just under the threshold"."""
    own = np.fromiter(
        ((c or "").strip().upper() in REPORTING_CURRENCIES for c in currencies), dtype=bool, count=len(amount)
    )
    return np.where(own, amount, amount_eur)


@dataclass(frozen=True)
class RecentRows:
    """Raw transactions as columns (the batch's own rows use the same shape)."""

    account: np.ndarray  # object (str)
    epoch_s: np.ndarray  # float64
    amount: np.ndarray  # float64
    country: np.ndarray  # object (str, upper case, may be "")
    merchant: np.ndarray  # object (str, may be "")
    category: np.ndarray  # object (str, the merchant category code, may be "")
    amount_eur: np.ndarray  # float64, at the reference rates
    reporting_amount: np.ndarray  # float64, in the currency of its reporting threshold (reporting_amounts)

    @classmethod
    def empty(cls) -> RecentRows:
        blank = np.empty(0, dtype=object)
        return cls(blank, np.empty(0), np.empty(0), blank, blank, blank, np.empty(0), np.empty(0))

    @classmethod
    def build(cls, *, account, epoch_s, amount, country, merchant, category, currency) -> RecentRows:
        amount_eur = eur_amounts(amount, currency)
        return cls(
            account=account,
            epoch_s=epoch_s,
            amount=amount,
            country=country,
            merchant=merchant,
            category=category,
            amount_eur=amount_eur,
            reporting_amount=reporting_amounts(amount, amount_eur, currency),
        )

    @classmethod
    def of(cls, transactions: Sequence[Transaction]) -> RecentRows:
        n = len(transactions)
        return cls.build(
            account=np.array([t.account_id for t in transactions], dtype=object),
            epoch_s=np.fromiter((epoch_s(t.occurred_at) for t in transactions), dtype=np.float64, count=n),
            amount=np.fromiter((float(t.amount) for t in transactions), dtype=np.float64, count=n),
            country=np.array([(t.country or "").strip().upper() for t in transactions], dtype=object),
            merchant=np.array([t.merchant_id or "" for t in transactions], dtype=object),
            category=np.array([(t.merchant_category or "").strip() for t in transactions], dtype=object),
            currency=[t.currency for t in transactions],
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
    max_log_amount: float  # largest log1p(|amount in euros|) of every stored transaction


class _Columns:
    """Rows as column arrays: text columns (TEXT) hold str objects, the others float64."""

    TEXT: ClassVar[tuple[str, ...]] = ("merchant", "account")

    @classmethod
    def empty(cls):
        columns = (f.name for f in fields(cls) if f.default_factory is MISSING)
        return cls(**{name: np.empty(0, dtype=object if name in cls.TEXT else np.float64) for name in columns})

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))


@dataclass(frozen=True)
class CounterpartyPayments(_Columns):
    """Payments to the batch's counterparties before the batch, as columns."""

    merchant: np.ndarray  # object (str)
    account: np.ndarray  # object (str)
    epoch_s: np.ndarray  # float64
    amount_eur: np.ndarray  # float64


@dataclass(frozen=True)
class CounterpartySenders(_Columns):
    """Each earlier sender of a batch counterparty paid in the counterparty window: first and latest time."""

    merchant: np.ndarray  # object (str)
    account: np.ndarray  # object (str)
    first_epoch_s: np.ndarray  # float64
    last_epoch_s: np.ndarray  # float64
    # Counterparty -> (senders, first-time senders) counted in the 7-day window of every batch row paying it,
    # without their rows: each has no payment since the velocity window and is not in the batch, so it adds
    # exactly one to the 7-day fan-in of each such row (and one to its first-time senders when its first
    # payment lies in every row's window). PostgreSQL folds them (load_history); elsewhere they stay rows.
    folded: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountHistory:
    recent: RecentRows = field(default_factory=RecentRows.empty)
    profiles: dict[str, Profile] = field(default_factory=dict)
    country_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    merchant_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    # (account, category) -> counts per amount band (AMOUNT_BANDS) before the recent rows
    category_bands: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    # Counterparty memory: raw payments in the velocity window (recent_from on), senders before it.
    counterparty_recent: CounterpartyPayments = field(default_factory=CounterpartyPayments.empty)
    counterparty_senders: CounterpartySenders = field(default_factory=CounterpartySenders.empty)
    recent_from_s: float = np.nan


EMPTY_HISTORY = AccountHistory()


def epoch_s(occurred_at: datetime) -> float:
    # A naive datetime should not reach here (ingestion requires an offset); read it as UTC if it does.
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return occurred_at.timestamp()


def load_history(transactions: Sequence[Transaction]) -> AccountHistory:
    """The stored history of the batch's accounts and counterparties in the batch's organisation, in five
    queries (none for an empty batch): accounts of two organisations never share history.

    Stored rows that are themselves in the batch are not there yet: ingestion scores before it inserts.
    """
    if not transactions:
        return EMPTY_HISTORY
    organisation_id = transactions[0].organisation_id
    accounts = sorted({t.account_id for t in transactions})
    first = min(t.occurred_at for t in transactions)
    recent_from = first - VELOCITY_LOOKBACK
    last = max(t.occurred_at for t in transactions)
    accounts_param = text_array(accounts)
    recent_rows = _fetch_all(
        lambda: (
            Transaction.objects.for_organisation(organisation_id)
            .filter(account_id__in=accounts, occurred_at__gte=recent_from, occurred_at__lte=last)
            .order_by()
            .values_list(
                "account_id", "occurred_at", "amount", "country", "merchant_id", "merchant_category", "currency"
            )
        ),
        # Seconds and amounts as float8: Django's timestamptz loader (Python, per value) and Decimal
        # parsing cost ~10 us a value (a profile of one 10,000-item batch: 21,581 loader calls, 0.24 s).
        f"SELECT account_id, extract(epoch FROM occurred_at)::float8, amount::float8, country, merchant_id, "  # noqa: S608
        f"merchant_category, currency FROM {Transaction._meta.db_table} "
        "WHERE organisation_id = %s AND account_id = ANY(%s::text[]) AND occurred_at >= %s AND occurred_at <= %s",
        (organisation_id, accounts_param, recent_from, last),
    )
    profile_columns = (
        "account_id, n, sum_log_amount, sum_log_amount_sq, sum_hour_sin, sum_hour_cos, last_epoch_s, max_log_amount"
    )
    profile_rows = _fetch_all(
        lambda: (
            AccountProfile.objects.for_organisation(organisation_id)
            .filter(account_id__in=accounts)
            .values_list(*profile_columns.split(", "))
        ),
        f"SELECT {profile_columns} FROM {AccountProfile._meta.db_table} WHERE organisation_id = %s AND account_id = ANY(%s::text[])",  # noqa: E501, S608
        (organisation_id, accounts_param),
    )
    countries = sorted({(t.country or "").strip().upper() for t in transactions})
    merchants = sorted({t.merchant_id for t in transactions if t.merchant_id} | {r[4] for r in recent_rows if r[4]})
    categories = sorted({(t.merchant_category or "").strip() for t in transactions})
    value_table = AccountValueCount._meta.db_table
    band_kind = AccountValueCount.Kind.AMOUNT_BAND.value
    pairs = sorted({(t.account_id, (t.merchant_category or "").strip()) for t in transactions})
    count_rows = _fetch_all(
        lambda: (
            AccountValueCount.objects.for_organisation(organisation_id)
            .filter(account_id__in=accounts)
            .filter(
                Q(kind=AccountValueCount.Kind.COUNTRY, value__in=countries)
                | Q(kind=AccountValueCount.Kind.MERCHANT, value__in=merchants)
                | Q(kind=band_kind, value__regex=r"^(" + "|".join(map(re.escape, categories)) + r"):[0-9]{2}$")
            )
            .values_list("account_id", "kind", "value", "n")
        ),
        # Only the triples the features look up: the batch's own, the recent rows' merchants (whether each
        # recent row was a first payment), and the amount bands of the batch's (account, category) pairs.
        # The account filter lets PostgreSQL hash the triples and scan the accounts' index range once;
        # reading every count of the accounts instead returned 139,000 rows for a 10,000-row batch (19,191
        # here), and turning them into dictionaries cost more than the query.
        f"SELECT v.account_id, v.kind, v.value, v.n FROM {value_table} v "  # noqa: S608
        "JOIN unnest(%s::text[], %s::text[], %s::text[]) AS b(account_id, kind, value) "
        "ON v.account_id = b.account_id AND v.kind = b.kind AND v.value = b.value "
        "WHERE v.organisation_id = %s AND v.account_id = ANY(%s::text[]) "
        f"UNION ALL SELECT v.account_id, v.kind, v.value, v.n FROM {value_table} v "
        "JOIN unnest(%s::text[], %s::text[]) AS p(account_id, category) "
        "ON v.account_id = p.account_id AND v.kind = %s AND left(v.value, -3) = p.category "
        "WHERE v.organisation_id = %s AND v.account_id = ANY(%s::text[])",
        (
            *(text_array(column) for column in zip(*_value_keys(transactions, recent_rows), strict=True)),
            organisation_id,
            accounts_param,
            text_array([a for a, _ in pairs]),
            text_array([c for _, c in pairs]),
            band_kind,
            organisation_id,
            accounts_param,
        ),
    )
    merchants_param = text_array(merchants)
    counterparty_rows = _fetch_all(
        lambda: (
            Transaction.objects.for_organisation(organisation_id)
            .filter(merchant_id__in=merchants, occurred_at__gte=recent_from, occurred_at__lte=last)
            .order_by()
            .values_list("merchant_id", "account_id", "occurred_at", "amount", "currency")
        ),
        f"SELECT merchant_id, account_id, extract(epoch FROM occurred_at)::float8, amount::float8, currency "  # noqa: S608
        f"FROM {Transaction._meta.db_table} "
        "WHERE organisation_id = %s AND merchant_id = ANY(%s::text[]) AND occurred_at >= %s AND occurred_at <= %s",
        (organisation_id, merchants_param, recent_from, last),
    )
    # Senders active in the 7-day window, and any earlier sender of a batch pair: its first payment is old,
    # so the batch's payment is not a first one.
    senders_from_s = (first - COUNTERPARTY_LOOKBACK).timestamp()
    batch_pairs = list({(t.merchant_id, t.account_id) for t in transactions if t.merchant_id})
    pair_params = (text_array([m for m, _ in batch_pairs]), text_array([a for _, a in batch_pairs]))
    # Folded on PostgreSQL (see CounterpartySenders.folded): a sender with no payment since the velocity
    # window, not in the batch, whose latest payment is inside every batch row's 7-day window and whose first
    # one is inside all of them or none.
    always_s = (last - COUNTERPARTY_LOOKBACK).timestamp() + FOLD_MARGIN_S
    never_s = senders_from_s - FOLD_MARGIN_S
    sender_table = CounterpartySender._meta.db_table
    sender_rows = _fetch_all(
        lambda: (
            CounterpartySender.objects.for_organisation(organisation_id)
            .filter(merchant_id__in=merchants)
            .filter(Q(last_epoch_s__gte=senders_from_s) | Q(account_id__in=accounts, last_epoch_s__lt=senders_from_s))
            .values_list("merchant_id", "account_id", "first_epoch_s", "last_epoch_s")
        ),
        # A 10,000-row batch over 250,000 stored rows: of 37,853 sender rows, 20,579 fold into 1,242 counts.
        f"WITH s AS (SELECT s.merchant_id, s.account_id, s.first_epoch_s, s.last_epoch_s, "  # noqa: S608
        "s.last_epoch_s < %s AND s.last_epoch_s > %s AND (s.first_epoch_s > %s OR s.first_epoch_s < %s) "
        "AND b.account_id IS NULL AS folded "
        f"FROM {sender_table} s LEFT JOIN unnest(%s::text[], %s::text[]) AS b(merchant_id, account_id) "
        "ON s.merchant_id = b.merchant_id AND s.account_id = b.account_id "
        "WHERE s.organisation_id = %s AND s.merchant_id = ANY(%s::text[]) AND s.last_epoch_s >= %s) "
        "SELECT merchant_id, account_id, first_epoch_s, last_epoch_s FROM s WHERE NOT folded "
        "UNION ALL SELECT merchant_id, NULL, count(*) FILTER (WHERE first_epoch_s > %s)::float8, count(*)::float8 "
        "FROM s WHERE folded GROUP BY merchant_id "
        f"UNION ALL SELECT s.merchant_id, s.account_id, s.first_epoch_s, s.last_epoch_s FROM {sender_table} s "
        "JOIN unnest(%s::text[], %s::text[]) AS b(merchant_id, account_id) "
        "ON s.merchant_id = b.merchant_id AND s.account_id = b.account_id "
        "WHERE s.organisation_id = %s AND s.last_epoch_s < %s",
        (
            recent_from.timestamp(),
            always_s,
            always_s,
            never_s,
            *pair_params,
            organisation_id,
            merchants_param,
            senders_from_s,
            always_s,
            *pair_params,
            organisation_id,
            senders_from_s,
        ),
    )
    folded = {r[0]: (int(r[3]), int(r[2])) for r in sender_rows if r[1] is None}
    if folded:
        sender_rows = [r for r in sender_rows if r[1] is not None]
    history = _assemble(recent_from, recent_rows, profile_rows, count_rows)
    payments_amount = np.fromiter((float(r[3]) for r in counterparty_rows), np.float64, len(counterparty_rows))
    return AccountHistory(
        recent=history.recent,
        profiles=history.profiles,
        country_counts=history.country_counts,
        merchant_counts=history.merchant_counts,
        category_bands=history.category_bands,
        counterparty_recent=CounterpartyPayments(
            merchant=np.array([r[0] for r in counterparty_rows], dtype=object),
            account=np.array([r[1] for r in counterparty_rows], dtype=object),
            epoch_s=np.fromiter((_epoch_of(r[2]) for r in counterparty_rows), np.float64, len(counterparty_rows)),
            amount_eur=eur_amounts(payments_amount, [r[4] for r in counterparty_rows]),
        ),
        counterparty_senders=CounterpartySenders(
            merchant=np.array([r[0] for r in sender_rows], dtype=object),
            account=np.array([r[1] for r in sender_rows], dtype=object),
            first_epoch_s=np.array([r[2] for r in sender_rows], dtype=np.float64),
            last_epoch_s=np.array([r[3] for r in sender_rows], dtype=np.float64),
            folded=folded,
        ),
        recent_from_s=recent_from.timestamp(),
    )


def _value_keys(transactions: Sequence[Transaction], recent_rows: list[tuple]) -> list[tuple[str, str, str]]:
    """The (account, kind, value) triples of AccountValueCount the features look up one by one, as
    profiles_record keys them: the batch's countries and merchants, and the recent rows' merchants."""
    country = AccountValueCount.Kind.COUNTRY.value
    merchant = AccountValueCount.Kind.MERCHANT.value
    keys = {(r[0], merchant, r[4]) for r in recent_rows if r[4]}
    for t in transactions:
        keys.add((t.account_id, country, (t.country or "").strip().upper()))
        if t.merchant_id:
            keys.add((t.account_id, merchant, t.merchant_id))
    return list(keys)  # any order: they are joined, not ranged over


def _assemble(
    recent_from: datetime, rows: list[tuple], profile_rows: list[tuple], count_rows: list[tuple]
) -> AccountHistory:
    recent = RecentRows.build(
        account=np.array([r[0] for r in rows], dtype=object),
        epoch_s=np.fromiter((_epoch_of(r[1]) for r in rows), dtype=np.float64, count=len(rows)),
        amount=np.fromiter((float(r[2]) for r in rows), dtype=np.float64, count=len(rows)),
        country=np.array([(r[3] or "").upper() for r in rows], dtype=object),
        merchant=np.array([r[4] or "" for r in rows], dtype=object),
        category=np.array([(r[5] or "").strip() for r in rows], dtype=object),
        currency=[r[6] for r in rows],
    )

    # The recent rows' own contribution, taken out of the running aggregates below (vectorised per account).
    window_accounts, window_index = np.unique(recent.account.astype(str), return_inverse=True)
    log_amount = np.log1p(np.abs(recent.amount))
    angle = 2 * np.pi * np.mod(recent.epoch_s, 86_400) / 86_400
    window_sums = np.zeros((len(window_accounts), 5))
    for column, values in enumerate((np.ones(len(rows)), log_amount, log_amount**2, np.sin(angle), np.cos(angle))):
        window_sums[:, column] = np.bincount(window_index, weights=values, minlength=len(window_accounts))
    in_window = dict(zip(window_accounts.tolist(), window_sums.tolist(), strict=True))
    window_start_s = recent_from.timestamp()
    profiles = {}
    no_window = [0.0] * 5
    for account, n, s1, s2, ss, sc, last_s, max_log in profile_rows:
        w = in_window.get(account, no_window)
        if n - w[0] > 0.5:
            profiles[account] = Profile(
                count=round(n - w[0]),
                sum_log_amount=s1 - w[1],
                sum_log_amount_sq=s2 - w[2],
                sum_hour_sin=ss - w[3],
                sum_hour_cos=sc - w[4],
                # The latest stored row may be inside the window (then the window rows say it) or later
                # (out-of-order arrival): the last time before the window is then unknown.
                last_epoch_s=last_s if last_s < window_start_s else np.nan,
                max_log_amount=max_log,
            )

    country_counts: dict[tuple[str, str], int] = {}
    merchant_counts: dict[tuple[str, str], int] = {}
    category_bands: dict[tuple[str, str], np.ndarray] = {}
    band_kind = AccountValueCount.Kind.AMOUNT_BAND.value
    for account, kind, value, n in count_rows:
        if kind == band_kind:
            bands = category_bands.get((account, value[:-3]))
            if bands is None:
                bands = category_bands[(account, value[:-3])] = np.zeros(AMOUNT_BANDS)
            bands[int(value[-2:])] = n
            continue
        target = country_counts if kind == AccountValueCount.Kind.COUNTRY else merchant_counts
        target[(account, value)] = n
    band = amount_band(np.log1p(np.abs(recent.amount_eur))).tolist()
    rows_by_key = zip(recent.account, recent.country, recent.merchant, recent.category, band, strict=True)
    for account, country, merchant, mcc, recent_band in rows_by_key:
        if (account, country) in country_counts:
            country_counts[(account, country)] -= 1
        if merchant and (account, merchant) in merchant_counts:
            merchant_counts[(account, merchant)] -= 1
        bands = category_bands.get((account, mcc))
        if bands is not None:
            bands[recent_band] -= 1
    return AccountHistory(
        recent=recent,
        profiles=profiles,
        country_counts=country_counts,
        merchant_counts=merchant_counts,
        category_bands=category_bands,
    )


def _epoch_of(value) -> float:
    """Seconds since the epoch of a stored occurred_at: a float from PostgreSQL, a datetime elsewhere."""
    return value if isinstance(value, float) else value.timestamp()


def _fetch_all(queryset: Callable[[], QuerySet], pg_sql: str = "", pg_params: Sequence = ()) -> list[tuple]:
    """The rows of `queryset()`; on PostgreSQL the equivalent `pg_sql`, fetched at once.

    The batch's accounts go to PostgreSQL as one array literal (`= ANY(%s::text[])`, see text_array):
    Django's `__in` sends 10,000 separate parameters, and adapting and parsing them cost more than the
    query. Django's iterator also fetches 100 rows at a time; here one fetchall. Elsewhere (SQLite)
    through the ORM; the queryset is only built there (building it prepares every `__in` value).
    """
    if connection.vendor != "postgresql" or not pg_sql:
        return list(queryset())
    with connection.cursor() as cursor:
        cursor.execute(pg_sql, list(pg_params))
        return cursor.fetchall()
