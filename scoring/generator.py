"""Synthetic, labelled transaction traffic for training, evaluation, demos and tests.

Reproducible by seed and vectorised with numpy: each account has a behaviour profile (home country,
amount scale, preferred channels, active hours, usual merchants and payees) that drives its legitimate
traffic; four labelled fraud patterns are injected on top. Records come out in the public JSON shape
integrators send, so training and serving go through the same parsing and feature code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
from django.utils import timezone

from scoring.features import COUNTRY_CURRENCY
from scoring.models import Transaction

CHANNELS = ("card_present", "online", "wire", "ach", "atm")
CARD_PRESENT, ONLINE, WIRE, ACH, ATM = range(len(CHANNELS))
PATTERNS = ("card_testing", "structuring", "account_takeover", "outlier")

# A fixed default start keeps a seed's output identical run to run (a Monday, so weekdays line up).
DEFAULT_START = datetime(2025, 1, 6, tzinfo=UTC)

# Share of the injected fraudulent transactions per pattern.
PATTERN_SHARE = {"card_testing": 0.35, "structuring": 0.20, "account_takeover": 0.25, "outlier": 0.20}

# Where accounts live (weights), and where they travel to or buy online from.
HOME_COUNTRIES = {
    "DE": 0.17,
    "FR": 0.12,
    "NL": 0.07,
    "ES": 0.07,
    "IT": 0.07,
    "IE": 0.03,
    "BE": 0.03,
    "AT": 0.03,
    "PT": 0.01,
    "GB": 0.20,
    "US": 0.20,
}
TRAVEL_COUNTRIES = (*HOME_COUNTRIES, "CH", "SE", "DK", "PL", "CZ", "CA", "JP", "AU", "GR", "HR")
# Where takeovers, card testers and outliers operate from: FATF-listed and unlisted countries alike.
FRAUD_COUNTRIES = ("NG", "VN", "ZA", "KE", "VE", "RU", "BR", "CN", "UA", "RO", "IR", "MM")
CARD_TESTING_COUNTRIES = ("US", "GB", "NL", *FRAUD_COUNTRIES)

# Everyday merchant categories and their share of merchants.
EVERYDAY_MCC = {
    "5411": 0.20,  # grocery stores
    "5812": 0.12,  # restaurants
    "5814": 0.08,  # fast food
    "5541": 0.07,  # service stations
    "5311": 0.05,  # department stores
    "5912": 0.05,  # drug stores
    "4111": 0.05,  # commuter transport
    "4121": 0.04,  # taxis and ride sharing
    "4900": 0.05,  # utilities
    "5651": 0.05,  # family clothing
    "5732": 0.03,  # electronics
    "5942": 0.02,  # book stores
    "7011": 0.03,  # hotels
    "4511": 0.02,  # airlines
    "5999": 0.04,  # miscellaneous retail
    "4814": 0.03,  # telecom services
    "5815": 0.04,  # digital media
    "5816": 0.02,  # digital games
    "7995": 0.005,  # gambling
    "6211": 0.005,  # securities brokers
}
CARD_TESTING_MCC = ("5815", "5816", "5999", "4816", "5968")
TAKEOVER_MCC = ("5732", "5944", "5045", "4829", "6051")
OUTLIER_MCC = ("7995", "6051", "4829", "6211")
ATM_MCC = "6011"

# Per-channel factor on an account's typical amount (card_present, online, wire, ach, atm).
CHANNEL_AMOUNT_FACTOR = np.array([1.0, 1.3, 8.0, 4.0, 2.0])
# Dirichlet concentrations of an account's channel mix, same order.
CHANNEL_CONCENTRATION = np.array([6.0, 4.0, 0.25, 0.6, 0.8])

USUAL_MERCHANTS = 10
USUAL_PAYEES = 3
OWN_DEVICES = 2
POOL_SIZE = 40  # merchants per special pool: card testing, takeover targets, outlier merchants, ATMs
REFUND_RATE = 0.01
OFFSET_NOTATION_RATE = 0.02  # share of timestamps written "+00:00" instead of "Z", as some senders do


@dataclass(frozen=True)
class GeneratedSet:
    records: list[dict]
    labels: np.ndarray  # bool, True = injected fraud
    patterns: list[str]  # the injected pattern, "" for legitimate traffic

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class _Columns:
    """A block of transactions as column arrays, before they are formatted into records."""

    account: np.ndarray
    epoch_s: np.ndarray
    amount_cents: np.ndarray
    currency: np.ndarray
    merchant: np.ndarray  # index into _World.merchant_id
    country: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    device: np.ndarray  # -1 when none
    pattern: np.ndarray

    @classmethod
    def concat(cls, blocks: Iterable[_Columns]) -> _Columns:
        blocks = list(blocks)
        return cls(**{f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(cls)})

    def take(self, order: np.ndarray) -> _Columns:
        return _Columns(**{f.name: getattr(self, f.name)[order] for f in fields(self)})


class _World:
    """Accounts and merchants, drawn once per seed; the traffic generators read from it."""

    def __init__(self, rng: np.random.Generator, *, n_accounts: int, seed: int, start_s: int, days: int):
        self.rng = rng
        self.seed = seed
        self.start_s = start_s
        self.days = days
        self.period_s = days * 86_400
        self.n_accounts = n_accounts
        countries, weights = _weighted(HOME_COUNTRIES)
        self.home = rng.choice(countries, size=n_accounts, p=weights)
        self.home_currency = _currency_of(self.home)
        self.log_amount_mu = rng.normal(3.4, 0.6, n_accounts)
        self.log_amount_sigma = rng.uniform(0.5, 1.0, n_accounts)
        self.daily_rate = np.exp(rng.normal(0.35, 0.5, n_accounts))
        self.channel_cdf = np.cumsum(rng.dirichlet(CHANNEL_CONCENTRATION, n_accounts), axis=1)
        self.active_hour = rng.normal(14.0, 2.5, n_accounts) % 24
        self.active_spread_h = rng.uniform(2.0, 4.0, n_accounts)

        # Merchant table: everyday merchants (Zipf-like popularity), one pool per special kind, then payees.
        self.n_everyday = max(300, n_accounts // 4)
        popularity = 1.0 / np.arange(1, self.n_everyday + 1) ** 0.8
        self.popularity = popularity / popularity.sum()
        mccs, mcc_weights = _weighted(EVERYDAY_MCC)
        pools = [rng.choice(mccs, size=self.n_everyday, p=mcc_weights)]
        for pool_mcc in (CARD_TESTING_MCC, TAKEOVER_MCC, OUTLIER_MCC, (ATM_MCC,)):
            pools.append(rng.choice(pool_mcc, POOL_SIZE))
        self.card_testing_merchants, self.takeover_merchants, self.outlier_merchants, self.atms = (
            self.n_everyday + k * POOL_SIZE + np.arange(POOL_SIZE) for k in range(4)
        )
        self.payee_base = self.n_everyday + 4 * POOL_SIZE
        pools.append(np.full(n_accounts * USUAL_PAYEES, ""))  # wires and ACH go to a payee, no MCC
        self.merchant_mcc = np.concatenate(pools)
        self.merchant_id = [f"mer-{seed}-{i:05d}" for i in range(self.payee_base)] + [
            f"pay-{seed}-{a:05d}-{j}" for a in range(n_accounts) for j in range(USUAL_PAYEES)
        ]
        self.usual_merchants = rng.choice(self.n_everyday, size=(n_accounts, USUAL_MERCHANTS), p=self.popularity)
        self.next_fraud_device = n_accounts * OWN_DEVICES

    def payee(self, account: np.ndarray) -> np.ndarray:
        return self.payee_base + account * USUAL_PAYEES + self.rng.integers(0, USUAL_PAYEES, len(account))

    def new_devices(self, n: int) -> np.ndarray:
        """Devices never seen on any account before."""
        devices = self.next_fraud_device + np.arange(n)
        self.next_fraud_device += n
        return devices

    def clip_to_period(self, epoch_s: np.ndarray) -> np.ndarray:
        return np.clip(epoch_s, self.start_s, self.start_s + self.period_s - 1)


def generate(
    *, n_accounts: int, days: int, seed: int, start: datetime | None = None, fraud_rate: float = 0.015
) -> GeneratedSet:
    """Generate `days` of traffic for `n_accounts` accounts, about `fraud_rate` of it injected fraud.

    The same arguments always give the same records, labels and patterns (`start` defaults to
    DEFAULT_START, not to now, for that reason).
    """
    if n_accounts < 1 or days < 1:
        raise ValueError("n_accounts and days must be at least 1")
    if not 0 <= fraud_rate < 0.5:
        raise ValueError("fraud_rate must be in [0, 0.5)")
    start = start or DEFAULT_START
    if timezone.is_naive(start):
        raise ValueError("start must be timezone-aware")
    rng = np.random.default_rng(seed)
    world = _World(rng, n_accounts=n_accounts, seed=seed, start_s=int(start.timestamp()), days=days)

    legit = _legit_traffic(world)
    n_fraud = round(fraud_rate * len(legit.account) / (1 - fraud_rate))
    blocks = [legit]
    for pattern, share in PATTERN_SHARE.items():
        target = round(n_fraud * share)
        if target:
            blocks.append(_FRAUD_PATTERNS[pattern](world, target))
    cols = _Columns.concat(blocks)
    cols = cols.take(np.argsort(cols.epoch_s, kind="stable"))
    return GeneratedSet(records=_to_records(cols, world), labels=cols.pattern != "", patterns=cols.pattern.tolist())


def records_to_transactions(records: Iterable[Mapping], *, source: str) -> list[Transaction]:
    """Unsaved Transactions from records in the public JSON shape (amount as Decimal, aware datetimes)."""
    received_at = timezone.now()
    transactions = []
    for r in records:
        occurred_at = datetime.fromisoformat(r["timestamp"])
        if timezone.is_naive(occurred_at):
            raise ValueError(f"{r['external_id']}: timestamp must carry an offset or 'Z'")
        transactions.append(
            Transaction(
                source=source,
                external_id=r["external_id"],
                account_id=r["account_id"],
                amount=Decimal(str(r["amount"])),
                currency=r["currency"],
                occurred_at=occurred_at,
                merchant_id=r.get("merchant_id") or "",
                merchant_category=r.get("merchant_category") or "",
                country=r.get("country") or "",
                channel=r.get("channel") or "",
                metadata=dict(r.get("metadata") or {}),
                received_at=received_at,
            )
        )
    return transactions


# --- Legitimate traffic ----------------------------------------------------------------------


def _legit_traffic(world: _World) -> _Columns:
    rng = world.rng
    account = np.repeat(np.arange(world.n_accounts), rng.poisson(world.daily_rate * world.days))
    n = len(account)

    channel = (rng.random(n)[:, None] > world.channel_cdf[account]).sum(axis=1)
    channel = np.minimum(channel, ATM)  # the cdf can end a rounding error below 1.0
    is_card = (channel == CARD_PRESENT) | (channel == ONLINE)
    is_transfer = (channel == WIRE) | (channel == ACH)

    day = rng.integers(0, world.days, n)
    weekday = ((world.start_s // 86_400) + 3 + day) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    # Wires and ACH are not executed at weekends: move those to the Friday before (or the first day).
    day = np.where(is_transfer & (weekday >= 5), np.maximum(day - (weekday - 4), 0), day)
    hour = (world.active_hour[account] + world.active_spread_h[account] * rng.standard_normal(n)) % 24
    epoch_s = world.start_s + day * 86_400 + (hour * 3600).astype(np.int64)

    log_amount = world.log_amount_mu[account] + world.log_amount_sigma[account] * rng.standard_normal(n)
    amount = np.exp(log_amount) * CHANNEL_AMOUNT_FACTOR[channel]
    amount = np.where(channel == ATM, np.maximum(20, np.round(amount / 20) * 20), amount)
    # Rent, savings and transfers between own accounts are often round amounts.
    is_round_transfer = is_transfer & (rng.random(n) < 0.3)
    amount = np.where(is_round_transfer, np.maximum(100, np.round(amount / 100) * 100), amount)
    amount_cents = np.maximum(np.round(amount * 100), 1).astype(np.int64)
    amount_cents = np.where(is_card & (rng.random(n) < REFUND_RATE), -amount_cents, amount_cents)

    usual = world.usual_merchants[account, rng.integers(0, USUAL_MERCHANTS, n)]
    elsewhere = rng.choice(world.n_everyday, size=n, p=world.popularity)
    merchant = np.where(rng.random(n) < 0.88, usual, elsewhere)
    merchant = np.where(channel == ATM, rng.choice(world.atms, n), merchant)
    merchant = np.where(is_transfer, world.payee(account), merchant)

    abroad_p = np.select([channel == CARD_PRESENT, channel == ONLINE, channel == ATM], [0.05, 0.15, 0.05], 0.03)
    country = np.where(rng.random(n) < abroad_p, rng.choice(TRAVEL_COUNTRIES, n), world.home[account])
    # In person you pay in the local currency; online and transfers go in the account's currency.
    in_person = (channel == CARD_PRESENT) | (channel == ATM)
    currency = np.where(in_person, _currency_of(country), world.home_currency[account])

    own_device = account * OWN_DEVICES + rng.integers(0, OWN_DEVICES, n)
    return _Columns(
        account=account,
        epoch_s=epoch_s,
        amount_cents=amount_cents,
        currency=currency,
        merchant=merchant,
        country=country,
        channel=channel,
        device=np.where(channel == ONLINE, own_device, -1),
        pattern=np.full(n, "", dtype=object),
    )


# --- Injected fraud --------------------------------------------------------------------------


def _card_testing(world: _World, target: int) -> _Columns:
    """Bursts of tiny online amounts at a merchant the card never used, seconds to minutes apart."""
    rng = world.rng
    sizes = _event_sizes(rng, target, low=4, high=12)
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.period_s - 3600, n_events)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(5, 90))
    n = len(event)
    cents = rng.integers(50, 300, n)
    cents = np.where(rng.random(n) < 0.3, 100, cents)
    country = rng.choice(CARD_TESTING_COUNTRIES, n_events)[event]
    return _Columns(
        account=rng.integers(0, world.n_accounts, n_events)[event],
        epoch_s=world.clip_to_period(epoch_s),
        amount_cents=cents.astype(np.int64),
        currency=_currency_of(country),
        merchant=rng.choice(world.card_testing_merchants, n_events)[event],
        country=country,
        channel=np.full(n, ONLINE),
        device=world.new_devices(n_events)[event],
        pattern=np.full(n, "card_testing", dtype=object),
    )


def _structuring(world: _World, target: int) -> _Columns:
    """Several wires/ACH payments just under the 10,000 reporting threshold within one day."""
    rng = world.rng
    sizes = _event_sizes(rng, target, low=3, high=6)
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.days, n_events) * 86_400 + 8 * 3600
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(20 * 60, 3 * 3600))
    n = len(event)
    account = rng.integers(0, world.n_accounts, n_events)[event]
    amount = rng.uniform(8_800, 9_990, n)
    amount = np.where(rng.random(n) < 0.4, np.floor(amount / 100) * 100, amount)
    return _Columns(
        account=account,
        epoch_s=world.clip_to_period(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=world.payee(account),
        country=world.home[account],
        channel=np.where(rng.random(n) < 0.6, WIRE, ACH),
        device=np.full(n, -1),
        pattern=np.full(n, "structuring", dtype=object),
    )


def _account_takeover(world: _World, target: int) -> _Columns:
    """A stolen login: large online purchases from abroad, at an odd hour, at merchants new to the account."""
    rng = world.rng
    sizes = _event_sizes(rng, target, low=1, high=4)
    n_events = len(sizes)
    victim = rng.integers(0, world.n_accounts, n_events)
    odd_hour = (world.active_hour[victim] + 12 + rng.uniform(-2, 2, n_events)) % 24
    starts = world.start_s + rng.integers(0, world.days, n_events) * 86_400 + (odd_hour * 3600).astype(np.int64)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(2 * 60, 20 * 60))
    n = len(event)
    account = victim[event]
    log_amount = world.log_amount_mu[account] + world.log_amount_sigma[account] * rng.uniform(2.5, 4.0, n)
    amount = np.maximum(np.exp(log_amount) * 3, 250)
    return _Columns(
        account=account,
        epoch_s=world.clip_to_period(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=rng.choice(world.takeover_merchants, n),
        country=rng.choice(FRAUD_COUNTRIES, n_events)[event],
        channel=np.full(n, ONLINE),
        device=world.new_devices(n_events)[event],
        pattern=np.full(n, "account_takeover", dtype=object),
    )


def _outlier(world: _World, target: int) -> _Columns:
    """Single extreme amounts at rare, high-risk merchant categories."""
    rng = world.rng
    n = target
    account = rng.integers(0, world.n_accounts, n)
    channel = np.where(rng.random(n) < 0.5, ONLINE, CARD_PRESENT)
    country = np.where(rng.random(n) < 0.5, world.home[account], rng.choice(FRAUD_COUNTRIES, n))
    amount = np.exp(rng.uniform(np.log(20_000), np.log(250_000), n))
    return _Columns(
        account=account,
        epoch_s=world.start_s + rng.integers(0, world.period_s, n),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=rng.choice(world.outlier_merchants, n),
        country=country,
        channel=channel,
        device=np.where(channel == ONLINE, world.new_devices(n), -1),
        pattern=np.full(n, "outlier", dtype=object),
    )


_FRAUD_PATTERNS: dict[str, Callable[[_World, int], _Columns]] = {
    "card_testing": _card_testing,
    "structuring": _structuring,
    "account_takeover": _account_takeover,
    "outlier": _outlier,
}


# --- Shared pieces ---------------------------------------------------------------------------


def _weighted(weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    p = np.array(list(weights.values()), dtype=float)
    return np.array(list(weights)), p / p.sum()


def _currency_of(countries: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(countries, return_inverse=True)
    return np.array([COUNTRY_CURRENCY[c] for c in unique])[inverse]


def _event_sizes(rng: np.random.Generator, target: int, *, low: int, high: int) -> np.ndarray:
    """Event sizes in [low, high] that add up to exactly `target` (the last event is cut short)."""
    sizes = rng.integers(low, high + 1, target // low + 1)
    totals = np.cumsum(sizes)
    k = int(np.searchsorted(totals, target)) + 1
    sizes = sizes[:k].copy()
    sizes[-1] -= totals[k - 1] - target
    return sizes


def _expand_events(
    rng: np.random.Generator, sizes: np.ndarray, starts: np.ndarray, *, gap_s: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-transaction event index and time, each event's transactions `gap_s` apart from its start."""
    event = np.repeat(np.arange(len(sizes)), sizes)
    gaps = rng.uniform(*gap_s, len(event))
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gaps[first] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[first], sizes)
    return event, starts[event] + elapsed.astype(np.int64)


def _to_records(cols: _Columns, world: _World) -> list[dict]:
    seed = world.seed
    timestamps = np.datetime_as_string(cols.epoch_s.astype("datetime64[s]"), unit="s").tolist()
    zones = np.where(world.rng.random(len(timestamps)) < OFFSET_NOTATION_RATE, "+00:00", "Z").tolist()
    account_ids = [f"acc-{seed}-{a:05d}" for a in range(world.n_accounts)]
    channel_names = np.array(CHANNELS)[cols.channel].tolist()
    mccs = world.merchant_mcc[cols.merchant].tolist()
    merchant_ids = world.merchant_id
    rows = zip(
        cols.account.tolist(),
        cols.amount_cents.tolist(),
        cols.currency.tolist(),
        timestamps,
        zones,
        cols.merchant.tolist(),
        mccs,
        cols.country.tolist(),
        channel_names,
        cols.device.tolist(),
        strict=True,
    )
    return [
        {
            "external_id": f"syn-{seed}-{i:07d}",
            "account_id": account_ids[account],
            "amount": f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}",
            "currency": currency,
            "timestamp": timestamp + zone,
            "merchant_id": merchant_ids[merchant],
            "merchant_category": mcc,
            "country": country,
            "channel": channel,
            "metadata": {"device_id": f"dev-{seed}-{device}"} if device >= 0 else {},
        }
        for i, (account, cents, currency, timestamp, zone, merchant, mcc, country, channel, device) in enumerate(rows)
    ]
