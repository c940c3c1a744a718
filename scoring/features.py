"""Feature vectors for the anomaly models, computed by the same code for training and serving.

Three blocks, one function. Stateless features depend on the transaction alone. Behavioural features
compare it with its account's history: everything the account did before it, from the database
(`scoring.history.load_history`, a constant number of queries per batch) plus the batch's own earlier
rows. Counterparty features look at the merchant or payee it goes to: how many distinct accounts paid it
lately (fan-in), how many of them for the first time, how much money converged on it. Training passes an
empty history and the whole generated set as one batch, so a transaction's row is identical whether its
past came from memory or from the database (test_feature_parity.py).

Amounts are compared in euros at fixed reference rates (scoring.risk_tables.EUR_PER_UNIT) wherever
accounts or currencies are compared with each other; an account's own moments stay in its currency.

The risk encodings (`scoring.risk_tables`) are fixed domain priors, not learned; the feature list is
stored per model version, so changing either means a new model version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from scoring.counterparties import (
    COUNTERPARTY_WINDOWS_S,
    Payments,
    counterparty_columns,
    counterparty_payments,
    grouped,
)
from scoring.history import AMOUNT_BAND_WIDTH, AMOUNT_BANDS, EMPTY_HISTORY, AccountHistory, RecentRows, amount_band
from scoring.models import Transaction
from scoring.risk_tables import (
    CHANNEL_RISK,
    CHANNEL_RISK_DEFAULT,
    COUNTRY_CURRENCY,
    COUNTRY_RISK,
    COUNTRY_RISK_BLANK,
    COUNTRY_RISK_DEFAULT,
    MCC_RISK,
    MCC_RISK_DEFAULT,
    MCC_TYPICAL_EUR,
    MCC_TYPICAL_EUR_DEFAULT,
    NEAR_THRESHOLD_FLOOR,
    REPORTING_THRESHOLD,
)

STATELESS_FEATURES: tuple[str, ...] = (
    "log_abs_amount_eur",  # log1p(|amount| in euros at the reference rates)
    "is_refund",  # amount < 0 (refund or reversal)
    "is_near_reporting_threshold",  # 8,000 <= amount < 10,000 (in its reporting currency): the structuring band
    "is_round_amount",  # a non-zero multiple of 100 with no cents
    "hour_sin",  # time of day (UTC) on the unit circle, so 23:59 is next to 00:00
    "hour_cos",
    "is_weekend",  # Saturday or Sunday, UTC
    "channel_risk",  # CHANNEL_RISK
    "mcc_risk",  # MCC_RISK
    "country_risk",  # COUNTRY_RISK
    "is_foreign_currency",  # currency differs from the country's own (COUNTRY_CURRENCY)
)
BEHAVIOURAL_FEATURES: tuple[str, ...] = (
    "amount_zscore",  # log-amount against the account's own mean and spread (0 until MIN_HISTORY)
    "log_amount_ratio",  # log-amount minus the account's mean log-amount: exp() is "N x its typical amount"
    "country_mismatch",  # 1 - share of the account's earlier transactions made in this country
    "is_new_country",  # the account never transacted in this country before
    "is_new_merchant",  # ... nor with this merchant or payee
    "hour_atypical",  # 1 - cos(this time of day vs the account's mean time of day), 0..2
    "count_10m",  # the account's other transactions in the last 10 minutes (including the batch)
    "count_1h",
    "count_24h",
    "log_sum_10m",  # log1p of their summed |amount| in euros
    "log_sum_1h",
    "log_sum_24h",
    "near_threshold_count_24h",  # the account's other 8,000-10,000 amounts in the last 24 hours
    "log_seconds_since_previous",  # log1p(seconds since the account's previous transaction), capped
    # Robust outliers: against the median and median absolute deviation of the account's amounts in this
    # merchant category (from a histogram of its log-amounts), shrunk towards the category's typical ticket
    # (MCC_TYPICAL_EUR) while the account has few payments there, so a short or skewed history cannot hide
    # a jump; and against the largest amount the account ever paid.
    "amount_vs_category",  # log(amount) - that median, in euros: exp() is "N x its usual in the category"
    "amount_category_zscore",  # (log(amount) - that median) / (1.4826 x that MAD): a robust z-score
    "amount_vs_max",  # log(amount) - log(largest earlier amount), euros (0 without history)
    "counterparties_24h",  # distinct merchants or payees the account paid in 24 h, this one included (fan-out)
    "new_counterparties_24h",  # of those, the ones it paid for the first time ever (0 until MIN_HISTORY)
)
COUNTERPARTY_FEATURES: tuple[str, ...] = (
    "counterparty_senders_1h",  # log1p(distinct accounts that paid this merchant or payee in 1 h, this one included)
    "counterparty_senders_24h",
    "counterparty_senders_7d",
    "counterparty_new_sender_share",  # of those 7-day senders, the share paying it for the first time
    "counterparty_log_inflow_24h",  # log1p(euros it received in 24 h): the amount concentrating on it
)
FEATURE_NAMES: tuple[str, ...] = STATELESS_FEATURES + BEHAVIOURAL_FEATURES + COUNTERPARTY_FEATURES

# Plain-word names for explanations and charts.
FEATURE_LABELS = {
    "log_abs_amount_eur": "Amount",
    "is_refund": "Refund",
    "is_near_reporting_threshold": "Just under the reporting threshold",
    "is_round_amount": "Round amount",
    "hour_sin": "Time of day",
    "hour_cos": "Time of day",
    "is_weekend": "Weekend",
    "channel_risk": "Channel risk",
    "mcc_risk": "Merchant category risk",
    "country_risk": "Country risk",
    "is_foreign_currency": "Foreign currency",
    "amount_zscore": "Amount vs account history",
    "log_amount_ratio": "Amount vs typical",
    "country_mismatch": "Unusual country",
    "is_new_country": "New country",
    "is_new_merchant": "New merchant",
    "hour_atypical": "Unusual time for account",
    "count_10m": "Transactions in 10 min",
    "count_1h": "Transactions in 1 h",
    "count_24h": "Transactions in 24 h",
    "log_sum_10m": "Spent in 10 min",
    "log_sum_1h": "Spent in 1 h",
    "log_sum_24h": "Spent in 24 h",
    "near_threshold_count_24h": "Near-threshold payments in 24 h",
    "log_seconds_since_previous": "Time since previous",
    "amount_vs_category": "Amount vs usual in the category",
    "amount_category_zscore": "Amount vs spread in the category",
    "amount_vs_max": "Amount vs largest so far",
    "counterparties_24h": "Payees in 24 h (fan-out)",
    "new_counterparties_24h": "New payees in 24 h (fan-out)",
    "counterparty_senders_1h": "Senders to the payee in 1 h (fan-in)",
    "counterparty_senders_24h": "Senders to the payee in 24 h (fan-in)",
    "counterparty_senders_7d": "Senders to the payee in 7 days (fan-in)",
    "counterparty_new_sender_share": "First-time senders to the payee",
    "counterparty_log_inflow_24h": "Received by the payee in 24 h",
}

MIN_HISTORY = 3  # fewer earlier transactions than this: no profile-based signal (z-score, new country...)
MIN_LOG_STD = 0.25  # floor on an account's log-amount spread, so a very regular account's z-score stays sane
ZSCORE_CLIP = 8.0
SECONDS_CAP = 30 * 86_400  # "no previous transaction" reads as 30 days
VELOCITY_WINDOWS_S = {"10m": 600.0, "1h": 3600.0, "24h": 86_400.0}
CATEGORY_PRIOR_WEIGHT = 2.0  # the category's typical counts as this many of the account's own payments
CATEGORY_PRIOR_MAD = 0.35  # the category's prior spread (MAD of log-amounts: about x1.4 either side of the median)
MIN_LOG_MAD = 0.1  # floor on the shrunk MAD, so an account paying one amount every time keeps a sane z-score
MAD_TO_STD = 1.4826  # MAD x this estimates a normal distribution's standard deviation
QUANTILE_CHUNK_ROWS = 16_384
RATIO_CLIP = 12.0  # |log ratio| cap: beyond e^12 (160,000x) the size of the jump no longer matters


@dataclass(frozen=True)
class FeatureFrame:
    """The model input for a batch, plus the sorted history rules use for their own windows."""

    matrix: np.ndarray  # (n, len(FEATURE_NAMES)) float32
    amount: np.ndarray  # float64 per batch row
    country: np.ndarray  # object per batch row, upper case
    _key: np.ndarray  # sorted (account, time) key of history + batch rows
    _amount_sorted: np.ndarray  # their amounts in euros, same order
    _batch_pos: np.ndarray  # where each batch row sits in that order
    amount_eur: np.ndarray  # float64 per batch row, at the reference rates
    _payments: Payments  # payments to the batch's counterparties in the last 24 h and in the batch
    reporting_amount: np.ndarray  # float64 per batch row, in the currency its reporting threshold is set in
    _reporting_sorted: np.ndarray  # history + batch rows' reporting amounts, in _key order

    def take(self, rows: slice) -> FeatureFrame:
        """The frame of some of the batch's rows, with the same history (a batch scored in parts)."""
        p = self._payments
        return replace(
            self,
            matrix=self.matrix[rows],
            amount=self.amount[rows],
            country=self.country[rows],
            _batch_pos=self._batch_pos[rows],
            amount_eur=self.amount_eur[rows],
            _payments=replace(p, query_group=p.query_group[rows], query_s=p.query_s[rows]),
            reporting_amount=self.reporting_amount[rows],
        )

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, FEATURE_NAMES.index(name)]

    def window_count(
        self, window_s: float, where: Callable[[np.ndarray], np.ndarray] | None = None, *, reporting: bool = False
    ) -> np.ndarray:
        """Per batch row: the account's transactions (itself included) in [t - window_s, t] whose amount in
        euros (with `reporting`, in its reporting currency) satisfies `where` (all when None), counting
        stored history and the rest of the batch."""
        amounts = self._reporting_sorted if reporting else self._amount_sorted
        mask = np.ones(len(self._key), bool) if where is None else where(amounts)
        cumulative = np.concatenate([[0], np.cumsum(mask)])
        key = self._key[self._batch_pos]
        left = np.searchsorted(self._key, key - window_s, "left")
        right = np.searchsorted(self._key, key, "right")
        return cumulative[right] - cumulative[left]

    def distinct_senders(self, window_s: float, min_amount_eur: float = 0.0) -> np.ndarray:
        """Per batch row: distinct accounts that paid the row's counterparty at least `min_amount_eur` in
        [t - window_s, t] (window_s at most 24 h: the raw payments the frame holds), 0 without a counterparty."""
        if window_s > COUNTERPARTY_WINDOWS_S["24h"]:
            raise ValueError("distinct_senders covers windows up to 24 hours")
        p = self._payments
        return p.distinct(window_s, np.abs(p.amount_eur) >= min_amount_eur)


def build_features(transactions: Sequence[Transaction], history: AccountHistory = EMPTY_HISTORY) -> np.ndarray:
    """One float32 row per transaction, columns in FEATURE_NAMES order."""
    return build_feature_frame(transactions, history).matrix


def build_feature_frame(transactions: Sequence[Transaction], history: AccountHistory = EMPTY_HISTORY) -> FeatureFrame:
    batch = RecentRows.of(transactions)
    columns = _stateless(transactions, batch)
    behaviour, key, amount_sorted, reporting_sorted, batch_pos = _behavioural(batch, history)
    columns.update(behaviour)
    payments = counterparty_payments(batch, history)
    columns.update(counterparty_columns(payments))
    matrix = np.empty((len(batch), len(FEATURE_NAMES)), dtype=np.float32)
    for i, name in enumerate(FEATURE_NAMES):
        matrix[:, i] = columns[name]
    return FeatureFrame(
        matrix,
        batch.amount,
        batch.country,
        key,
        amount_sorted,
        batch_pos,
        batch.amount_eur,
        payments,
        batch.reporting_amount,
        reporting_sorted,
    )


def _stateless(transactions: Sequence[Transaction], batch: RecentRows) -> dict[str, np.ndarray]:
    n = len(batch)
    amount, epoch_s = batch.amount, batch.epoch_s
    channel_risk = np.fromiter(
        (CHANNEL_RISK.get((t.channel or "").strip().lower(), CHANNEL_RISK_DEFAULT) for t in transactions),
        dtype=np.float64,
        count=n,
    )
    mcc_risk = np.fromiter(
        (MCC_RISK.get((t.merchant_category or "").strip(), MCC_RISK_DEFAULT) for t in transactions),
        dtype=np.float64,
        count=n,
    )
    countries = batch.country.tolist()
    country_risk = np.fromiter(
        (COUNTRY_RISK.get(c, COUNTRY_RISK_DEFAULT) if c else COUNTRY_RISK_BLANK for c in countries),
        dtype=np.float64,
        count=n,
    )
    is_foreign_currency = np.fromiter(
        (
            c in COUNTRY_CURRENCY and (t.currency or "").strip().upper() != COUNTRY_CURRENCY[c]
            for c, t in zip(countries, transactions, strict=True)
        ),
        dtype=bool,
        count=n,
    )
    abs_cents = np.rint(np.abs(amount) * 100)
    angle = 2 * np.pi * np.mod(epoch_s, 86_400) / 86_400
    weekday = np.mod(np.floor_divide(epoch_s, 86_400) + 3, 7)  # 1970-01-01 was a Thursday (Monday = 0)
    return {
        "log_abs_amount_eur": np.log1p(np.abs(batch.amount_eur)),
        "is_refund": amount < 0,
        "is_near_reporting_threshold": _near_threshold(batch.reporting_amount),
        "is_round_amount": (abs_cents > 0) & (np.mod(abs_cents, 10_000) == 0),
        "hour_sin": np.sin(angle),
        "hour_cos": np.cos(angle),
        "is_weekend": weekday >= 5,
        "channel_risk": channel_risk,
        "mcc_risk": mcc_risk,
        "country_risk": country_risk,
        "is_foreign_currency": is_foreign_currency,
    }


def _near_threshold(amount: np.ndarray) -> np.ndarray:
    return (amount >= NEAR_THRESHOLD_FLOOR) & (amount < REPORTING_THRESHOLD)


def _behavioural(batch: RecentRows, history: AccountHistory):
    """Behavioural columns for the batch rows, computed over history.recent + batch sorted by (account, time).

    Ties in time keep stored rows first, then batch order, in serving and in training alike.
    """
    recent = history.recent
    n_recent = len(recent)
    account = np.concatenate([recent.account, batch.account])
    t = np.concatenate([recent.epoch_s, batch.epoch_s])
    amount = np.concatenate([recent.amount, batch.amount])
    country = np.concatenate([recent.country, batch.country])
    merchant = np.concatenate([recent.merchant, batch.merchant])
    category = np.concatenate([recent.category, batch.category])
    amount_eur = np.concatenate([recent.amount_eur, batch.amount_eur])
    reporting = np.concatenate([recent.reporting_amount, batch.reporting_amount])
    m = len(account)
    seq = np.arange(m)
    accounts, account_code = np.unique(account.astype(str), return_inverse=True) if m else (np.empty(0), seq)

    order = np.lexsort((seq, t, account_code))
    a, ts = account_code[order], t[order]
    starts = np.searchsorted(a, a, "left")
    position = np.empty(m, dtype=np.int64)
    position[order] = seq
    batch_pos = position[n_recent:]

    def prior(values_sorted: np.ndarray) -> np.ndarray:
        """Sum over the same account's earlier rows (sorted order), per row."""
        exclusive = np.cumsum(values_sorted) - values_sorted
        return exclusive - exclusive[starts]

    log_amount = np.log1p(np.abs(amount[order]))
    angle = 2 * np.pi * np.mod(ts, 86_400) / 86_400
    profile = [history.profiles.get(acc) for acc in accounts.tolist()]
    p_count, p_s1, p_s2, p_ss, p_sc, p_last, p_max = (
        np.array([getattr(p, f) if p else d for p in profile], dtype=np.float64)[a] if m else np.empty(0)
        for f, d in (
            ("count", 0.0),
            ("sum_log_amount", 0.0),
            ("sum_log_amount_sq", 0.0),
            ("sum_hour_sin", 0.0),
            ("sum_hour_cos", 0.0),
            ("last_epoch_s", np.nan),
            ("max_log_amount", -np.inf),
        )
    )
    n_prior = p_count + (seq - starts)
    s1 = p_s1 + prior(log_amount)
    s2 = p_s2 + prior(log_amount**2)
    has_profile = n_prior >= MIN_HISTORY
    safe_n = np.maximum(n_prior, 1)
    mean = s1 / safe_n
    std = np.sqrt(np.maximum(s2 / safe_n - mean**2, 0.0))
    zscore = np.where(
        has_profile, np.clip((log_amount - mean) / np.maximum(std, MIN_LOG_STD), -ZSCORE_CLIP, ZSCORE_CLIP), 0
    )
    log_ratio = np.where(has_profile, log_amount - mean, 0.0)
    mean_sin = (p_ss + prior(np.sin(angle))) / safe_n
    mean_cos = (p_sc + prior(np.cos(angle))) / safe_n
    hour_atypical = np.where(has_profile, 1 - (np.sin(angle) * mean_sin + np.cos(angle) * mean_cos), 0.0)

    country_seen = _prior_pair_count(account_code, country, t, seq, history.country_counts, account, n_recent)[order]
    # Merchants: stored counts for the recent rows too, so each row knows whether it is a first payment.
    merchant_seen = _prior_pair_count(account_code, merchant, t, seq, history.merchant_counts, account, 0)[order]

    # Robust outliers, in euros: against the median and MAD of the account's amounts in the category, shrunk
    # to the category's typical ticket while it has few payments there; and against its largest earlier amount.
    log_eur = np.log1p(np.abs(amount_eur))
    histogram = _prior_band_histograms(
        account_code, category, t, seq, log_eur, history.category_bands, account, n_recent
    )
    in_category = histogram.sum(axis=1)
    median, mad = band_median_mad(histogram)
    prior_log = np.log1p(
        np.fromiter((MCC_TYPICAL_EUR.get(c, MCC_TYPICAL_EUR_DEFAULT) for c in category[n_recent:].tolist()), np.float64)
    )
    typical = (in_category * median + CATEGORY_PRIOR_WEIGHT * prior_log) / (in_category + CATEGORY_PRIOR_WEIGHT)
    spread = (in_category * mad + CATEGORY_PRIOR_WEIGHT * CATEGORY_PRIOR_MAD) / (in_category + CATEGORY_PRIOR_WEIGHT)
    deviation = log_eur[n_recent:] - typical
    amount_vs_category = np.clip(deviation, -RATIO_CLIP, RATIO_CLIP)
    amount_category_zscore = np.clip(
        deviation / (MAD_TO_STD * np.maximum(spread, MIN_LOG_MAD)), -ZSCORE_CLIP, ZSCORE_CLIP
    )
    log_eur_sorted = log_eur[order]
    offset = a * (2 * RATIO_CLIP + 64.0)  # log-amounts stay far below this stride, so the running max stays per account
    running = np.maximum.accumulate(log_eur_sorted + offset) - offset if m else np.empty(0)
    earlier_max = np.where(seq > starts, np.concatenate([[-np.inf], running[:-1]]), -np.inf)
    earlier_max = np.maximum(earlier_max, p_max)
    amount_vs_max = np.where(
        has_profile & np.isfinite(earlier_max), np.clip(log_eur_sorted - earlier_max, -RATIO_CLIP, RATIO_CLIP), 0.0
    )
    has_merchant = merchant[order] != ""
    share = country_seen / safe_n

    key = a * (np.ptp(ts) + 3 * 86_400.0 if m else 1.0) + (ts - (ts.min() if m else 0.0))
    abs_amount = np.abs(amount_eur[order])
    near = _near_threshold(reporting[order]).astype(np.float64)
    cumulative_abs = np.concatenate([[0.0], np.cumsum(abs_amount)])
    cumulative_near = np.concatenate([[0.0], np.cumsum(near)])
    # A first payment to a payee (an account with a history): each payee counts once, so a window's sum is
    # the distinct new payees in it.
    first_payee = (has_profile & has_merchant & (merchant_seen == 0)).astype(np.float64)
    cumulative_first = np.concatenate([[0.0], np.cumsum(first_payee)])
    right = np.searchsorted(key, key, "right")
    columns = {}
    for suffix, window_s in VELOCITY_WINDOWS_S.items():
        left = np.searchsorted(key, key - window_s, "left")
        columns[f"count_{suffix}"] = right - left - 1
        columns[f"log_sum_{suffix}"] = np.log1p(cumulative_abs[right] - cumulative_abs[left] - abs_amount)
        if suffix == "24h":
            columns["near_threshold_count_24h"] = cumulative_near[right] - cumulative_near[left] - near
            columns["new_counterparties_24h"] = cumulative_first[right] - cumulative_first[left]
    previous = np.where(seq > starts, ts - np.concatenate([[np.nan], ts[:-1]]), ts - p_last)
    previous = np.where(np.isnan(previous), SECONDS_CAP, np.clip(previous, 0, SECONDS_CAP))
    columns.update(
        {
            "amount_zscore": zscore,
            "log_amount_ratio": log_ratio,
            "country_mismatch": np.where(has_profile, 1 - share, 0.0),
            "is_new_country": has_profile & (country_seen == 0),
            "is_new_merchant": has_profile & has_merchant & (merchant_seen == 0),
            "hour_atypical": hour_atypical,
            "log_seconds_since_previous": np.log1p(previous),
            "amount_vs_max": amount_vs_max,
        }
    )
    behaviour = {name: values[batch_pos] for name, values in columns.items()}
    behaviour["amount_vs_category"] = amount_vs_category
    behaviour["amount_category_zscore"] = amount_category_zscore
    payees = grouped(
        group=account_code,
        member=merchant,
        epoch_s=t,
        amount_eur=amount_eur,
        is_first=np.zeros(m, bool),
        query_group=account_code[n_recent:],
        query_s=t[n_recent:],
        include=merchant != "",
    )
    behaviour["counterparties_24h"] = payees.distinct(VELOCITY_WINDOWS_S["24h"])
    return behaviour, key, amount_eur[order], reporting[order], batch_pos


def _prior_band_histograms(account_code, values, t, seq, log_eur, stored: dict, account, batch_from: int):
    """Per batch row (rows from `batch_from` on, original order): the histogram over AMOUNT_BANDS of the
    account's earlier log-amounts with the same value (category), stored histograms added.

    One pass per band over the rows sorted by (account, value, time): memory stays one column per row.
    """
    m = len(values)
    histogram = np.zeros((m - batch_from, AMOUNT_BANDS), dtype=np.float32)  # counts: exact up to 2**24
    if not m:
        return histogram
    _, value_code = np.unique(values.astype(str), return_inverse=True)
    pair = account_code.astype(np.int64) * (value_code.max() + 1) + value_code
    order = np.lexsort((seq, t, pair))
    sorted_pair = pair[order]
    group_start = np.searchsorted(sorted_pair, sorted_pair, "left")
    position = np.empty(m, dtype=np.int64)
    position[order] = np.arange(m)
    at, start = position[batch_from:], group_start[position[batch_from:]]
    band = amount_band(log_eur)[order]
    for b in np.unique(band).tolist():
        cumulative = np.concatenate([[0], np.cumsum(band == b)])
        histogram[:, b] = cumulative[at] - cumulative[start]
    if stored:
        keys = zip(account[batch_from:].tolist(), values[batch_from:].tolist(), strict=True)
        empty = np.zeros(AMOUNT_BANDS)
        histogram += np.array([stored.get(key, empty) for key in keys]).reshape(histogram.shape)
    return histogram


def band_median_mad(histogram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of band counts: the median of the counted log-amounts and their median absolute deviation,
    read from the histogram (values spread evenly within a band). The MAD is estimated as half the
    interquartile range, which equals it for a symmetric distribution. Rows with no counts give 0, 0.
    In chunks of rows, so a 200,000-row training set needs a few megabytes beyond the histogram."""
    median, mad = np.zeros(len(histogram)), np.zeros(len(histogram))
    for start in range(0, len(histogram), QUANTILE_CHUNK_ROWS):
        chunk = histogram[start : start + QUANTILE_CHUNK_ROWS]
        n = chunk.sum(axis=1)
        cumulative = np.cumsum(chunk, axis=1)
        q25, q50, q75 = (_band_quantile(chunk, cumulative, q * n) for q in (0.25, 0.5, 0.75))
        median[start : start + len(chunk)] = np.where(n > 0, q50, 0.0)
        mad[start : start + len(chunk)] = np.where(n > 0, (q75 - q25) / 2, 0.0)
    return median, mad


def _band_quantile(histogram: np.ndarray, cumulative: np.ndarray, target: np.ndarray) -> np.ndarray:
    band = np.minimum((cumulative < target[:, None]).sum(axis=1), AMOUNT_BANDS - 1)
    rows = np.arange(len(histogram))
    before = np.where(band > 0, cumulative[rows, np.maximum(band - 1, 0)], 0.0)
    within = histogram[rows, band]
    fraction = np.clip((target - before) / np.where(within > 0, within, 1.0), 0.0, 1.0)
    return (band + fraction) * AMOUNT_BAND_WIDTH


def _prior_pair_count(account_code, values, t, seq, stored: dict, account, batch_from: int) -> np.ndarray:
    """Per row (original order): the account's earlier rows with the same value, stored counts included.

    Stored counts are added to the batch's rows only (from `batch_from` on): only their features are
    returned, and the lookup, a Python call per row, would otherwise also run for every recent row.
    """
    m = len(values)
    if not m:
        return np.empty(0)
    _, value_code = np.unique(values.astype(str), return_inverse=True)
    pair = account_code.astype(np.int64) * (value_code.max() + 1) + value_code
    order = np.lexsort((seq, t, pair))
    sorted_pair = pair[order]
    rank = np.empty(m, dtype=np.float64)
    rank[order] = np.arange(m) - np.searchsorted(sorted_pair, sorted_pair, "left")
    if stored:
        batch = zip(account[batch_from:].tolist(), values[batch_from:].tolist(), strict=True)
        rank[batch_from:] += np.fromiter((stored.get(pair, 0) for pair in batch), np.float64, m - batch_from)
    return rank
