"""A second, independent traffic generator: the stress set a model trained on scoring.generator is measured on.

Nothing here is shared with the training generator's distributions. Accounts live in other countries and
pay in other currencies (yen and forint amounts are hundreds of times larger than euro ones), are busier
or quieter, shop at another mix of merchant categories at other hours, and every fraud pattern draws its
parameters (sizes, gaps, amounts, multiples) from ranges chosen per seed. Besides the training patterns it
injects the two mule patterns: fan-in (many accounts each wiring a few thousand to one counterparty) and
fan-out (one account paying many counterparties it never paid), and the "80x at a usual merchant"
outlier: a card-present payment at home, at one of the account's own merchants, in its usual category.

Records come out in the public JSON shape, like scoring.generator's, so they go through the same parsing,
feature and rule code as live traffic.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from django.utils import timezone

from scoring.generator import (
    ACH,
    CARD_PRESENT,
    ONLINE,
    WIRE,
    GeneratedSet,
    _Columns,
    _currency_of,
    _event_sizes,
    _expand_events,
    _to_records,
    _weighted,
)

STRESS_PATTERNS = (
    "card_testing",
    "structuring",
    "account_takeover",
    "outlier",
    "mule_fan_in",
    "mule_fan_out",
)
DEFAULT_STRESS_START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, not the training generator's start

# Homes and their currencies' typical log-amount offset against a euro (a yen is ~1/160 of a euro).
STRESS_HOMES = {
    "JP": 0.18,
    "CH": 0.10,
    "SE": 0.10,
    "PL": 0.12,
    "CA": 0.12,
    "AU": 0.10,
    "HU": 0.08,
    "BR": 0.10,
    "IN": 0.10,
}
CURRENCY_LOG_SCALE = {
    "JPY": 5.1,
    "CHF": 0.0,
    "SEK": 2.4,
    "PLN": 1.4,
    "CAD": 0.4,
    "AUD": 0.5,
    "HUF": 5.9,
    "BRL": 1.7,
    "INR": 4.5,
}
STRESS_TRAVEL = ("US", "GB", "DE", "FR", "JP", "CH", "SE", "CA", "AU", "TR", "AE", "NO")
STRESS_FRAUD_COUNTRIES = ("NG", "VN", "RU", "UA", "RO", "ZA", "KE", "BR")
# Another merchant mix: more online services, travel and health, fewer groceries.
STRESS_MCC = {
    "5411": 0.10, "5812": 0.15, "5814": 0.04, "5541": 0.03, "5311": 0.08, "5912": 0.06, "8011": 0.04,
    "8062": 0.02, "4121": 0.07, "4111": 0.03, "4900": 0.03, "5651": 0.06, "5732": 0.05, "5817": 0.06,
    "5815": 0.04, "4722": 0.04, "7011": 0.04, "5999": 0.03, "4814": 0.03,
}  # fmt: skip
# Channel mix: card_present, online, wire, ach, atm; amount factor per channel.
STRESS_CHANNEL_CONCENTRATION = np.array([3.0, 6.0, 0.4, 0.3, 0.3])
STRESS_CHANNEL_FACTOR = np.array([1.0, 1.6, 6.0, 3.0, 2.5])
STRESS_PATTERN_SHARE = {
    "card_testing": 0.20,
    "structuring": 0.12,
    "account_takeover": 0.18,
    "outlier": 0.10,
    "mule_fan_in": 0.25,
    "mule_fan_out": 0.15,
}
USUAL = 8
PAYEES = 4


class _StressWorld:
    """Accounts and merchants of the stress set, with the attributes scoring.generator._to_records reads."""

    def __init__(self, rng: np.random.Generator, *, n_accounts: int, seed: int, start_s: int, days: int):
        self.rng, self.seed, self.start_s, self.days = rng, seed, start_s, days
        self.period_s = days * 86_400
        self.n_accounts = n_accounts
        homes, weights = _weighted(STRESS_HOMES)
        self.home = rng.choice(homes, size=n_accounts, p=weights)
        self.home_currency = _currency_of(self.home)
        scale = np.array([CURRENCY_LOG_SCALE[c] for c in self.home_currency])
        # Wider and differently centred amount profiles than training's N(3.4, 0.6) and U(0.5, 1.0).
        self.log_amount_mu = scale + rng.normal(rng.uniform(2.6, 3.6), 0.9, n_accounts)
        self.log_amount_sigma = rng.uniform(0.3, 1.0, n_accounts)
        self.daily_rate = np.exp(rng.normal(rng.uniform(-0.3, 1.0), 0.8, n_accounts))
        self.channel_cdf = np.cumsum(rng.dirichlet(STRESS_CHANNEL_CONCENTRATION, n_accounts), axis=1)
        # Two peaks of activity (lunch and evening) instead of one afternoon peak.
        self.active_hour = np.where(rng.random(n_accounts) < 0.5, 12.5, 20.0) + rng.normal(0, 1.5, n_accounts)
        self.active_spread_h = rng.uniform(1.0, 5.0, n_accounts)

        self.n_merchants = max(200, n_accounts // 3)
        popularity = 1.0 / np.arange(1, self.n_merchants + 1) ** rng.uniform(0.6, 1.1)
        self.popularity = popularity / popularity.sum()
        mccs, mcc_weights = _weighted(STRESS_MCC)
        pool = 30
        special = {"testing": ("5815", "5817", "4816"), "takeover": ("5732", "5944", "6051"), "atm": ("6011",)}
        blocks = [rng.choice(mccs, size=self.n_merchants, p=mcc_weights)]
        self.pools = {}
        for k, (name, pool_mcc) in enumerate(special.items()):
            blocks.append(rng.choice(pool_mcc, pool))
            self.pools[name] = self.n_merchants + k * pool + np.arange(pool)
        self.payee_base = self.n_merchants + len(special) * pool
        n_mules = max(20, n_accounts // 20)
        self.mule_base = self.payee_base + n_accounts * PAYEES
        self.fresh_base = self.mule_base + n_mules
        self.n_fresh = max(2000, n_accounts * 2)
        blocks.append(np.full(n_accounts * PAYEES + n_mules + self.n_fresh, ""))
        self.merchant_mcc = np.concatenate(blocks)
        # What a payment at each merchant costs relative to the account's scale: its category's level
        # (drawn per seed, not taken from any table the features read) plus the merchant's own.
        category_level = {mcc: rng.normal(0.0, 0.8) for mcc in np.unique(self.merchant_mcc).tolist()}
        self.merchant_log_level = np.array([category_level[mcc] for mcc in self.merchant_mcc.tolist()])
        self.merchant_log_level += rng.normal(0.0, 0.3, len(self.merchant_mcc))
        self.merchant_log_level[self.payee_base :] = 0.0
        self.merchant_id = (
            [f"shop-{seed}-{i:05d}" for i in range(self.payee_base)]
            + [f"ben-{seed}-{a:05d}-{j}" for a in range(n_accounts) for j in range(PAYEES)]
            + [f"ben-{seed}-m{i:04d}" for i in range(n_mules)]
            + [f"ben-{seed}-n{i:05d}" for i in range(self.n_fresh)]
        )
        self.n_mules = n_mules
        self.usual_merchants = rng.choice(self.n_merchants, size=(n_accounts, USUAL), p=self.popularity)
        self.next_device = n_accounts * 2
        self.next_fresh = 0

    def payee(self, account: np.ndarray) -> np.ndarray:
        return self.payee_base + account * PAYEES + self.rng.integers(0, PAYEES, len(account))

    def fresh_payees(self, n: int) -> np.ndarray:
        """Counterparties no account paid before (wrapping round a large pool)."""
        ids = self.fresh_base + (self.next_fresh + np.arange(n)) % self.n_fresh
        self.next_fresh += n
        return ids

    def new_devices(self, n: int) -> np.ndarray:
        devices = self.next_device + np.arange(n)
        self.next_device += n
        return devices

    def clip(self, epoch_s: np.ndarray) -> np.ndarray:
        return np.clip(epoch_s, self.start_s, self.start_s + self.period_s - 1)

    def amount_of(
        self, account: np.ndarray, channel: np.ndarray, z: np.ndarray, merchant: np.ndarray | None = None
    ) -> np.ndarray:
        level = 0.0 if merchant is None else self.merchant_log_level[merchant]
        log_amount = self.log_amount_mu[account] + level + self.log_amount_sigma[account] * z
        return np.exp(log_amount) * STRESS_CHANNEL_FACTOR[channel]


def generate_stress(
    *, n_accounts: int, days: int, seed: int, start: datetime | None = None, fraud_rate: float = 0.015
) -> GeneratedSet:
    """`days` of stress traffic for `n_accounts` accounts, about `fraud_rate` of it injected fraud (same seed,
    same output)."""
    if n_accounts < 20 or days < 2:
        raise ValueError("the stress set needs at least 20 accounts and 2 days")
    if not 0 <= fraud_rate < 0.5:
        raise ValueError("fraud_rate must be in [0, 0.5)")
    start = start or DEFAULT_STRESS_START
    if timezone.is_naive(start):
        raise ValueError("start must be timezone-aware")
    rng = np.random.default_rng(seed)
    world = _StressWorld(rng, n_accounts=n_accounts, seed=seed, start_s=int(start.timestamp()), days=days)
    legit = _legit(world)
    n_fraud = round(fraud_rate * len(legit.account) / (1 - fraud_rate))
    blocks = [legit]
    for pattern, share in STRESS_PATTERN_SHARE.items():
        target = round(n_fraud * share)
        if target:
            blocks.append(_PATTERNS[pattern](world, target))
    cols = _Columns.concat(blocks)
    cols = cols.take(np.argsort(cols.epoch_s, kind="stable"))
    records = _to_records(cols, world)
    for record in records:
        record["external_id"] = "stress-" + record["external_id"]
    return GeneratedSet(records=records, labels=cols.pattern != "", patterns=cols.pattern.tolist())


def _legit(world: _StressWorld) -> _Columns:
    rng = world.rng
    account = np.repeat(np.arange(world.n_accounts), rng.poisson(world.daily_rate * world.days))
    n = len(account)
    channel = np.minimum((rng.random(n)[:, None] > world.channel_cdf[account]).sum(axis=1), 4)
    is_transfer = (channel == WIRE) | (channel == ACH)
    day = rng.integers(0, world.days, n)
    hour = (world.active_hour[account] + world.active_spread_h[account] * rng.standard_normal(n)) % 24
    epoch_s = world.start_s + day * 86_400 + (hour * 3600).astype(np.int64)
    usual = world.usual_merchants[account, rng.integers(0, USUAL, n)]
    merchant = np.where(rng.random(n) < 0.8, usual, rng.choice(world.n_merchants, size=n, p=world.popularity))
    merchant = np.where(channel == 4, rng.choice(world.pools["atm"], n), merchant)
    merchant = np.where(is_transfer, world.payee(account), merchant)
    # Heavier tails than training's log-normal: a Student-t with 5 degrees of freedom.
    amount = world.amount_of(account, channel, rng.standard_t(5, n), merchant)
    amount = np.where(is_transfer & (rng.random(n) < 0.4), np.maximum(100, np.round(amount / 100) * 100), amount)
    cents = np.maximum(np.round(amount * 100), 1).astype(np.int64)
    abroad = rng.random(n) < np.where(channel == ONLINE, 0.25, 0.06)
    country = np.where(abroad, rng.choice(STRESS_TRAVEL, n), world.home[account])
    in_person = (channel == CARD_PRESENT) | (channel == 4)
    return _Columns(
        account=account,
        epoch_s=epoch_s,
        amount_cents=cents,
        currency=np.where(in_person, _currency_of(country), world.home_currency[account]),
        merchant=merchant,
        country=country,
        channel=channel,
        device=np.where(channel == ONLINE, account * 2 + rng.integers(0, 2, n), -1),
        pattern=np.full(n, "", dtype=object),
    )


def _card_testing(world: _StressWorld, target: int) -> _Columns:
    rng = world.rng
    sizes = _event_sizes(rng, target, low=int(rng.integers(3, 6)), high=int(rng.integers(8, 16)))
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.period_s - 3600, n_events)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(3, float(rng.uniform(40, 150))))
    n = len(event)
    account = rng.integers(0, world.n_accounts, n_events)[event]
    # Tiny amounts in the account's own currency: 0.5-3 units of a euro-like currency, scaled.
    scale = np.exp(np.array([CURRENCY_LOG_SCALE[c] for c in world.home_currency[account]]))
    cents = np.round(rng.uniform(0.5, 3.0, n) * scale * 100).astype(np.int64)
    country = rng.choice((*STRESS_FRAUD_COUNTRIES, "US"), n_events)[event]
    return _Columns(
        account=account,
        epoch_s=world.clip(epoch_s),
        amount_cents=cents,
        currency=world.home_currency[account],
        merchant=rng.choice(world.pools["testing"], n_events)[event],
        country=country,
        channel=np.full(n, ONLINE),
        device=world.new_devices(n_events)[event],
        pattern=np.full(n, "card_testing", dtype=object),
    )


def _structuring(world: _StressWorld, target: int) -> _Columns:
    """Just under 10,000: only meaningful in currencies near the euro's scale, so those accounts do it."""
    rng = world.rng
    near_euro = np.flatnonzero(np.isin(world.home_currency, ["CHF", "CAD", "AUD"]))
    sizes = _event_sizes(rng, target, low=2, high=int(rng.integers(4, 7)))
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.days, n_events) * 86_400 + rng.integers(6, 14, n_events) * 3600
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(10 * 60, float(rng.uniform(2, 8)) * 3600))
    n = len(event)
    account = rng.choice(near_euro, n_events)[event]
    amount = rng.uniform(float(rng.uniform(8_000, 9_000)), 9_995, n)
    return _Columns(
        account=account,
        epoch_s=world.clip(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=world.payee(account),
        country=world.home[account],
        channel=np.where(rng.random(n) < 0.5, WIRE, ACH),
        device=np.full(n, -1),
        pattern=np.full(n, "structuring", dtype=object),
    )


def _account_takeover(world: _StressWorld, target: int) -> _Columns:
    rng = world.rng
    sizes = _event_sizes(rng, target, low=1, high=int(rng.integers(3, 6)))
    n_events = len(sizes)
    victim = rng.integers(0, world.n_accounts, n_events)
    hour = (world.active_hour[victim] + 12 + rng.uniform(-3, 3, n_events)) % 24
    starts = world.start_s + rng.integers(0, world.days, n_events) * 86_400 + (hour * 3600).astype(np.int64)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(60, float(rng.uniform(10, 40)) * 60))
    n = len(event)
    account = victim[event]
    multiple = rng.uniform(float(rng.uniform(2.0, 3.0)), 5.0, n)
    amount = world.amount_of(account, np.full(n, ONLINE), multiple)
    return _Columns(
        account=account,
        epoch_s=world.clip(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=rng.choice(world.pools["takeover"], n),
        country=rng.choice(STRESS_FRAUD_COUNTRIES, n_events)[event],
        channel=np.full(n, ONLINE),
        device=world.new_devices(n_events)[event],
        pattern=np.full(n, "account_takeover", dtype=object),
    )


def _outlier(world: _StressWorld, target: int) -> _Columns:
    """One card-present payment at home, at one of the account's usual merchants, 50-120x its usual amount."""
    rng = world.rng
    n = target
    account = rng.integers(0, world.n_accounts, n)
    merchant = world.usual_merchants[account, rng.integers(0, USUAL, n)]
    amount = world.amount_of(account, np.full(n, CARD_PRESENT), np.zeros(n), merchant) * rng.uniform(50, 120, n)
    return _Columns(
        account=account,
        epoch_s=world.start_s + world.period_s // 3 + rng.integers(0, world.period_s * 2 // 3, n),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=merchant,
        country=world.home[account],
        channel=np.full(n, CARD_PRESENT),
        device=np.full(n, -1),
        pattern=np.full(n, "outlier", dtype=object),
    )


def _mule_fan_in(world: _StressWorld, target: int) -> _Columns:
    """Many accounts each wiring a few thousand to one mule counterparty within hours."""
    rng = world.rng
    sizes = _event_sizes(rng, target, low=int(rng.integers(5, 9)), high=int(rng.integers(15, 31)))
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.period_s - 86_400, n_events)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(60, float(rng.uniform(10, 60)) * 60))
    n = len(event)
    account = rng.integers(0, world.n_accounts, n)
    scale = np.exp(np.array([CURRENCY_LOG_SCALE[c] for c in world.home_currency[account]]))
    amount = rng.uniform(float(rng.uniform(1_000, 2_000)), float(rng.uniform(3_000, 6_000)), n) * scale
    return _Columns(
        account=account,
        epoch_s=world.clip(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=world.mule_base + rng.integers(0, world.n_mules, n_events)[event],
        country=world.home[account],
        channel=np.where(rng.random(n) < 0.8, WIRE, ACH),
        device=np.full(n, -1),
        pattern=np.full(n, "mule_fan_in", dtype=object),
    )


def _mule_fan_out(world: _StressWorld, target: int) -> _Columns:
    """One account paying out to many counterparties it never paid, within hours."""
    rng = world.rng
    sizes = _event_sizes(rng, target, low=int(rng.integers(5, 8)), high=int(rng.integers(12, 25)))
    n_events = len(sizes)
    starts = world.start_s + rng.integers(0, world.period_s - 86_400, n_events)
    event, epoch_s = _expand_events(rng, sizes, starts, gap_s=(60, float(rng.uniform(5, 45)) * 60))
    n = len(event)
    account = rng.integers(0, world.n_accounts, n_events)[event]
    scale = np.exp(np.array([CURRENCY_LOG_SCALE[c] for c in world.home_currency[account]]))
    amount = rng.uniform(float(rng.uniform(300, 900)), float(rng.uniform(1_500, 4_000)), n) * scale
    return _Columns(
        account=account,
        epoch_s=world.clip(epoch_s),
        amount_cents=np.round(amount * 100).astype(np.int64),
        currency=world.home_currency[account],
        merchant=world.fresh_payees(n),
        country=world.home[account],
        channel=np.where(rng.random(n) < 0.6, WIRE, ACH),
        device=np.full(n, -1),
        pattern=np.full(n, "mule_fan_out", dtype=object),
    )


_PATTERNS = {
    "card_testing": _card_testing,
    "structuring": _structuring,
    "account_takeover": _account_takeover,
    "outlier": _outlier,
    "mule_fan_in": _mule_fan_in,
    "mule_fan_out": _mule_fan_out,
}
