"""Deterministic typology checks over an account's recent transactions, each with its thresholds and the
rows it matched. The thresholds follow the shipped rules (scoring.rule_engine) and common AML guidance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from scoring.risk_tables import NEAR_THRESHOLD_FLOOR, REPORTING_THRESHOLD

# How strongly a matched typology points at fraud (0..1); the recommendation policy reads these.
STRENGTH = {
    "structuring": 0.9,
    "card_testing": 0.9,
    "account_takeover": 0.8,
    "extreme_amount": 0.75,
    "mule_fan_in": 0.6,
    "mule_fan_out": 0.6,
    "velocity_burst": 0.5,
    "round_amounts": 0.3,
}
THRESHOLDS = {
    "structuring": {
        "floor": NEAR_THRESHOLD_FLOOR,
        "threshold": REPORTING_THRESHOLD,
        "window_hours": 24,
        "min_count": 2,
    },
    "velocity_burst": {"window_minutes": 60, "min_count": 10},
    "card_testing": {"max_amount": 5.0, "window_minutes": 10, "min_count": 4},
    "account_takeover": {"quiet_hours": 6, "amount_multiple": 3.0, "min_novelties": 2, "baseline_days": 30},
    "mule_fan_out": {"window_hours": 24, "min_payees": 6, "channels": ["wire", "ach"]},
    "mule_fan_in": {"window_hours": 72, "min_payers": 15, "channels": ["wire", "ach"]},
    "round_amounts": {"min_amount": 1000, "multiple": 100, "min_count": 3},
    "extreme_amount": {"limit": 20_000.0, "median_multiple": 20.0},
}


@dataclass(frozen=True)
class Row:
    """What a check needs of one transaction."""

    id: int
    account_id: str
    amount: float
    t: float  # epoch seconds
    merchant_id: str
    country: str
    channel: str
    device: str


@dataclass
class Typology:
    name: str
    matched: bool
    detail: str
    rows: list[int] = field(default_factory=list)

    @property
    def thresholds(self) -> dict:
        return THRESHOLDS[self.name]

    @property
    def strength(self) -> float:
        return STRENGTH[self.name] if self.matched else 0.0


def rows_of(transactions) -> list[Row]:
    """Rows from stored transactions, oldest first."""
    rows = [
        Row(
            id=t.pk,
            account_id=t.account_id,
            amount=float(t.amount if isinstance(t.amount, Decimal) else Decimal(str(t.amount))),
            t=t.occurred_at.timestamp(),
            merchant_id=t.merchant_id or "",
            country=(t.country or "").upper(),
            channel=t.channel or "",
            device=str((t.metadata or {}).get("device_id", "")) if isinstance(t.metadata, dict) else "",
        )
        for t in transactions
    ]
    rows.sort(key=lambda r: (r.t, r.id))
    return rows


def _burst(rows: Sequence[Row], window_s: float, min_count: int) -> list[int]:
    """Ids of the rows in the largest run of at least `min_count` rows within `window_s`."""
    best: list[Row] = []
    start = 0
    for end in range(len(rows)):
        while rows[end].t - rows[start].t > window_s:
            start += 1
        if end - start + 1 > len(best):
            best = list(rows[start : end + 1])
    return [r.id for r in best] if len(best) >= min_count else []


def structuring(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["structuring"]
    band = [r for r in rows if p["floor"] <= r.amount < p["threshold"]]
    hit = _burst(band, p["window_hours"] * 3600, p["min_count"])
    detail = (
        f"{len(hit)} payments of {p['floor']:,.0f}-{p['threshold']:,.0f} within {p['window_hours']} h"
        if hit
        else f"{len(band)} payment(s) just under {p['threshold']:,.0f}, fewer than {p['min_count']} within "
        f"{p['window_hours']} h"
    )
    return Typology("structuring", bool(hit), detail, hit)


def velocity_burst(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["velocity_burst"]
    hit = _burst(rows, p["window_minutes"] * 60, p["min_count"])
    detail = f"{len(hit)} transactions within {p['window_minutes']} min" if hit else "no burst of transactions"
    return Typology("velocity_burst", bool(hit), detail, hit)


def card_testing(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["card_testing"]
    small = [r for r in rows if abs(r.amount) <= p["max_amount"]]
    hit = _burst(small, p["window_minutes"] * 60, p["min_count"])
    merchants = len({r.merchant_id for r in small if r.id in set(hit)})
    detail = (
        f"{len(hit)} payments of at most {p['max_amount']:.2f} within {p['window_minutes']} min at "
        f"{merchants} merchant(s)"
        if hit
        else f"{len(small)} small payment(s), no burst"
    )
    return Typology("card_testing", bool(hit), detail, hit)


def account_takeover(rows: Sequence[Row], baseline: Sequence[Row] = ()) -> Typology:
    """Someone else's session: at least two of a new country, channel and device (never seen in the account's
    baseline or earlier in the window), after a quiet period or with an amount well above the account's usual.
    Rows it matched do not become "seen", so every transaction of such a session matches."""
    p = THRESHOLDS["account_takeover"]
    hit: list[int] = []
    reasons: list[str] = []
    seen_country = {r.country for r in baseline if r.country}
    seen_channel = {r.channel for r in baseline if r.channel}
    seen_device = {r.device for r in baseline if r.device}
    amounts = sorted(abs(r.amount) for r in baseline)
    previous_t = baseline[-1].t if baseline else None
    for r in rows:
        if amounts:
            new = []
            if r.country and r.country not in seen_country:
                new.append(f"country {r.country}")
            if r.channel and r.channel not in seen_channel:
                new.append(f"channel {r.channel}")
            if r.device and r.device not in seen_device:
                new.append("device")
            median = amounts[len(amounts) // 2]
            large = median > 0 and abs(r.amount) >= p["amount_multiple"] * median
            quiet = previous_t is None or r.t - previous_t >= p["quiet_hours"] * 3600
            if len(new) >= p["min_novelties"] and (quiet or large or hit):
                hit.append(r.id)
                reasons.append(" and ".join(new))
                continue
        seen_country.add(r.country)
        seen_channel.add(r.channel)
        if r.device:
            seen_device.add(r.device)
        amounts.append(abs(r.amount))
        amounts.sort()
        previous_t = r.t
    detail = (
        f"{len(hit)} transaction(s) with a new {reasons[0]} after a quiet period or at an unusual amount"
        if hit
        else "no session with a new country, channel or device pair"
    )
    return Typology("account_takeover", bool(hit), detail, hit)


def mule_fan_out(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["mule_fan_out"]
    transfers = [r for r in rows if r.channel in p["channels"] and r.amount > 0]
    window = p["window_hours"] * 3600
    best: list[Row] = []
    start = 0
    for end in range(len(transfers)):
        while transfers[end].t - transfers[start].t > window:
            start += 1
        span = transfers[start : end + 1]
        if len({r.merchant_id for r in span}) > len({r.merchant_id for r in best}):
            best = list(span)
    payees = len({r.merchant_id for r in best})
    matched = payees >= p["min_payees"]
    detail = f"transfers to {payees} payees within {p['window_hours']} h"
    return Typology("mule_fan_out", matched, detail, [r.id for r in best] if matched else [])


def mule_fan_in(merchant_rows: Sequence[Row]) -> Typology:
    """Many distinct payers into one merchant (payee) account in the window."""
    p = THRESHOLDS["mule_fan_in"]
    merchant_rows = [r for r in merchant_rows if r.channel in THRESHOLDS["mule_fan_out"]["channels"]]
    payers = {r.account_id for r in merchant_rows}
    matched = len(payers) >= p["min_payers"]
    detail = f"{len(payers)} distinct payer(s) into the merchant within {p['window_hours']} h"
    return Typology("mule_fan_in", matched, detail, [r.id for r in merchant_rows][:50] if matched else [])


def round_amounts(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["round_amounts"]
    hit = [r.id for r in rows if abs(r.amount) >= p["min_amount"] and abs(r.amount) % p["multiple"] == 0]
    matched = len(hit) >= p["min_count"]
    detail = f"{len(hit)} round amount(s) of {p['min_amount']:,} or more"
    return Typology("round_amounts", matched, detail, hit if matched else [])


def extreme_amount(rows: Sequence[Row]) -> Typology:
    p = THRESHOLDS["extreme_amount"]
    amounts = sorted(abs(r.amount) for r in rows)
    median = amounts[len(amounts) // 2] if amounts else 0.0
    hit = [
        r.id
        for r in rows
        if abs(r.amount) >= p["limit"]
        or (len(rows) >= 5 and median > 0 and abs(r.amount) >= p["median_multiple"] * median)
    ]
    detail = f"{len(hit)} amount(s) at or over {p['limit']:,.0f} or {p['median_multiple']:g}x the account's median"
    return Typology("extreme_amount", bool(hit), detail, hit)


def analyse(account_rows: Sequence[Row], merchant_rows: Sequence[Row], baseline: Sequence[Row] = ()) -> list[Typology]:
    """Every check, matched or not (an unmatched check is evidence too); `baseline` is the account's history
    before the window, what is "new" is measured against."""
    return [
        structuring(account_rows),
        velocity_burst(account_rows),
        card_testing(account_rows),
        account_takeover(account_rows, baseline),
        mule_fan_out(account_rows),
        mule_fan_in(merchant_rows),
        round_amounts(account_rows),
        extreme_amount(account_rows),
    ]
