"""Deterministic rules next to the model: what each kind checks, its parameters, and their evaluation.

A rule sees the batch's FeatureFrame, so its windows count the account's stored history and the rest of
the batch, like the behavioural features. Evaluation is vectorised per rule (a handful of numpy passes
for a 10,000-row batch), never per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError

from scoring.features import FeatureFrame
from scoring.models import RISK_ORDER, RiskLevel, Rule
from scoring.risk_tables import FATF_CALL_FOR_ACTION, NEAR_THRESHOLD_FLOOR, REPORTING_THRESHOLD

# Per kind: parameter -> (type, default). Defaults are the shipped rules' values (DEFAULT_RULES).
PARAMS: dict[str, dict[str, tuple[type, object]]] = {
    Rule.Kind.STRUCTURING: {
        "floor": (float, NEAR_THRESHOLD_FLOOR),
        "threshold": (float, REPORTING_THRESHOLD),
        "window_hours": (float, 24.0),
        "min_count": (int, 2),
    },
    Rule.Kind.CARD_TESTING: {"max_amount": (float, 5.0), "window_minutes": (float, 10.0), "min_count": (int, 4)},
    Rule.Kind.HIGH_RISK_COUNTRY: {"countries": (list, list(FATF_CALL_FOR_ACTION))},
    Rule.Kind.AMOUNT_OVER_LIMIT: {"limit": (float, 20_000.0)},
    Rule.Kind.VELOCITY: {"window_minutes": (float, 60.0), "min_count": (int, 15)},
    Rule.Kind.FAN_IN: {
        "min_senders": (int, 5),
        "window_hours": (float, 24.0),
        "min_amount": (float, 1_000.0),
        "min_new_sender_share": (float, 0.8),
    },
    Rule.Kind.FAN_OUT: {"min_new_payees": (int, 4), "min_amount": (float, 250.0)},
    Rule.Kind.TAKEOVER: {"max_country_share": (float, 0.1), "min_hour_shift": (float, 6.0), "min_zscore": (float, 1.5)},
    Rule.Kind.AMOUNT_JUMP: {
        "multiple": (float, 20.0),
        "min_category_zscore": (float, 3.0),
        "min_zscore": (float, 2.5),
        "over_max": (float, 1.0),
    },
}
FAN_IN_MAX_WINDOW_HOURS = 24.0  # the raw payments a batch's frame holds

# The rules a new installation starts with (data migration 0005 and rules_install_defaults()).
DEFAULT_RULES = [
    {
        "code": "structuring-24h",
        "name": "Structuring just under the 10,000 reporting threshold",
        "kind": Rule.Kind.STRUCTURING,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "Two or more payments of 8,000-9,999.99 by one account within 24 hours (FinCEN CTR / "
        "EU cash-control threshold 10,000).",
    },
    {
        "code": "card-testing-10m",
        "name": "Card-testing burst",
        "kind": Rule.Kind.CARD_TESTING,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "Four or more payments of at most 5.00 by one account within 10 minutes.",
    },
    {
        "code": "fatf-call-for-action",
        "name": "FATF call-for-action jurisdiction",
        "kind": Rule.Kind.HIGH_RISK_COUNTRY,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.CRITICAL,
        "description": "Any transaction in a jurisdiction on the FATF black list (KP, IR, MM as of Feb 2026).",
    },
    {
        "code": "amount-over-20k",
        "name": "Amount over 20,000",
        "kind": Rule.Kind.AMOUNT_OVER_LIMIT,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "Any single transaction of 20,000 euros or more (absolute value, at reference rates).",
    },
    {
        "code": "velocity-1h",
        "name": "High velocity",
        "kind": Rule.Kind.VELOCITY,
        "action": Rule.Action.RAISE,
        "risk_level": RiskLevel.MEDIUM,
        "description": "Fifteen or more transactions by one account within an hour: worth a look, not an alert.",
    },
    {
        "code": "fan-in-24h",
        "name": "Fan-in to one counterparty",
        "kind": Rule.Kind.FAN_IN,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "Five or more distinct accounts each paying one merchant or payee 1,000 euros or more "
        "within 24 hours, at least 80% of its senders in 7 days paying it for the first time (money mule "
        "collection, not a busy shop's regulars).",
    },
    {
        "code": "fan-out-24h",
        "name": "Fan-out to new payees",
        "kind": Rule.Kind.FAN_OUT,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "A payment of 250 euros or more by an account that paid four or more payees for the first "
        "time within 24 hours, this one included (money mule distribution; accounts with at least 3 earlier "
        "transactions).",
    },
    {
        "code": "takeover-signs",
        "name": "Account takeover signs",
        "kind": Rule.Kind.TAKEOVER,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "A payment in a country the account used for at most 10% of its history, at least 6 hours "
        "away from its usual time of day, and 1.5 standard deviations above its mean amount (accounts with at "
        "least 3 earlier transactions).",
    },
    {
        "code": "amount-jump-20x",
        "name": "Amount jump",
        "kind": Rule.Kind.AMOUNT_JUMP,
        "action": Rule.Action.FLAG,
        "risk_level": RiskLevel.HIGH,
        "description": "An amount 20 times the account's median in the merchant category and 3 robust standard "
        "deviations above it, 2.5 standard deviations above the mean of all its amounts and above the largest "
        "it ever paid (accounts with at least 3 earlier transactions).",
    },
]


@dataclass(frozen=True)
class RuleOutcome:
    hits: list[list[dict]]  # per row: the contract's rule_hits entries
    risk_levels: np.ndarray  # per row: the model's level raised by the hits
    flagged: np.ndarray  # per row: the model's flag, or a flag rule hit, or a level of HIGH or above


def rule_params(rule: Rule) -> dict:
    """The rule's parameters with defaults filled in and types checked (ValidationError otherwise)."""
    spec = PARAMS.get(rule.kind)
    if spec is None:
        raise ValidationError({"kind": f"Unknown rule kind {rule.kind!r}."})
    given = rule.params or {}
    if not isinstance(given, dict):
        raise ValidationError({"params": "Parameters must be a JSON object."})
    unknown = set(given) - set(spec)
    if unknown:
        raise ValidationError({"params": f"Unknown parameter(s) for {rule.kind}: {', '.join(sorted(unknown))}."})
    params = {}
    for name, (kind, default) in spec.items():
        value = given.get(name, default)
        try:
            if kind is list:
                if not isinstance(value, list) or not all(isinstance(v, str) and len(v) == 2 for v in value):
                    raise TypeError
                value = [v.upper() for v in value]
            else:
                value = kind(value)
                if value <= 0:
                    raise ValueError
        except (TypeError, ValueError):
            raise ValidationError(
                {"params": f"{name} must be a positive {kind.__name__}" + (" of country codes" if kind is list else "")}
            ) from None
        params[name] = value
    if rule.kind == Rule.Kind.STRUCTURING and params["floor"] >= params["threshold"]:
        raise ValidationError({"params": "floor must be below threshold."})
    if rule.kind == Rule.Kind.FAN_IN and params["window_hours"] > FAN_IN_MAX_WINDOW_HOURS:
        raise ValidationError({"params": f"window_hours must be at most {FAN_IN_MAX_WINDOW_HOURS:g}."})
    return params


def validate_rule(rule: Rule) -> None:
    rule_params(rule)
    if rule.action not in Rule.Action.values:
        raise ValidationError({"action": f"Unknown action {rule.action!r}."})
    if rule.risk_level not in RiskLevel.values:
        raise ValidationError({"risk_level": f"Unknown risk level {rule.risk_level!r}."})


def evaluate_rules(
    rules: Sequence[Rule], frame: FeatureFrame, risk_levels: np.ndarray, flagged: np.ndarray
) -> RuleOutcome:
    n = len(frame.amount)
    hits: list[list[dict]] = [[] for _ in range(n)]
    order = (
        np.asarray([RISK_ORDER[level] for level in risk_levels.tolist()], dtype=np.int8) if n else np.empty(0, np.int8)
    )
    flagged = np.array(flagged, dtype=bool, copy=True)
    levels_by_order = [RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH, RiskLevel.CRITICAL]
    for rule in rules:
        mask, reasons = _check(rule, rule_params(rule), frame)
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        rule_order = RISK_ORDER[rule.risk_level]
        order[rows] = np.maximum(order[rows], rule_order)
        if rule.action == Rule.Action.FLAG:
            flagged[rows] = True
        for row, reason in zip(rows.tolist(), reasons(rows), strict=True):
            hits[row].append(
                {
                    "rule": rule.code,
                    "name": rule.name,
                    "action": rule.action,
                    "risk_level": rule.risk_level,
                    "reason": reason,
                }
            )
    flagged |= order >= RISK_ORDER[RiskLevel.HIGH]
    return RuleOutcome(
        hits=hits, risk_levels=np.array([levels_by_order[o].value for o in order.tolist()]), flagged=flagged
    )


def _check(rule: Rule, p: dict, frame: FeatureFrame):
    """(mask over the batch, reasons(rows) -> list[str]) for one rule."""
    amount = frame.amount_eur
    if rule.kind == Rule.Kind.STRUCTURING:
        reporting = frame.reporting_amount
        in_band = (reporting >= p["floor"]) & (reporting < p["threshold"])
        count = frame.window_count(
            p["window_hours"] * 3600, lambda a: (a >= p["floor"]) & (a < p["threshold"]), reporting=True
        )
        mask = in_band & (count >= p["min_count"])
        return mask, lambda rows: [
            f"{count[r]} payments of {p['floor']:,.0f}-{p['threshold']:,.0f} within {p['window_hours']:g} h"
            for r in rows
        ]
    if rule.kind == Rule.Kind.CARD_TESTING:
        small = np.abs(amount) <= p["max_amount"]
        count = frame.window_count(p["window_minutes"] * 60, lambda a: np.abs(a) <= p["max_amount"])
        mask = small & (count >= p["min_count"])
        return mask, lambda rows: [
            f"{count[r]} payments of at most {p['max_amount']:,.2f} EUR within {p['window_minutes']:g} min"
            for r in rows
        ]
    if rule.kind == Rule.Kind.HIGH_RISK_COUNTRY:
        mask = np.isin(frame.country, p["countries"])
        return mask, lambda rows: [f"country {frame.country[r]} is on the high-risk list" for r in rows]
    if rule.kind == Rule.Kind.AMOUNT_OVER_LIMIT:
        eur = np.abs(amount)
        mask = eur >= p["limit"]
        return mask, lambda rows: [f"amount {eur[r]:,.2f} EUR is at or over the {p['limit']:,.0f} limit" for r in rows]
    if rule.kind == Rule.Kind.FAN_IN:
        senders = frame.distinct_senders(p["window_hours"] * 3600, p["min_amount"])
        new_share = frame.column("counterparty_new_sender_share")
        mask = (
            (np.abs(frame.amount_eur) >= p["min_amount"])
            & (senders >= p["min_senders"])
            & (new_share >= p["min_new_sender_share"])
        )
        return mask, lambda rows: [
            f"{senders[r]} accounts paid this counterparty {p['min_amount']:,.0f} EUR or more "
            f"within {p['window_hours']:g} h, {100 * new_share[r]:.0f}% of its senders in 7 days for the first time"
            for r in rows
        ]
    if rule.kind == Rule.Kind.FAN_OUT:
        new_payees = frame.column("new_counterparties_24h")
        mask = (np.abs(amount) >= p["min_amount"]) & (new_payees >= p["min_new_payees"])
        return mask, lambda rows: [
            f"{new_payees[r]:.0f} payees paid for the first time by this account within 24 h, this one "
            f"{np.abs(amount[r]):,.2f} EUR"
            for r in rows
        ]
    if rule.kind == Rule.Kind.TAKEOVER:
        # All three read 0 below MIN_HISTORY earlier transactions, so a new account never matches.
        country_share = 1 - frame.column("country_mismatch")
        hour_atypical, zscore = frame.column("hour_atypical"), frame.column("amount_zscore")
        shift = 1 - np.cos(2 * np.pi * min(p["min_hour_shift"], 12.0) / 24)
        mask = (country_share <= p["max_country_share"]) & (hour_atypical >= shift) & (zscore >= p["min_zscore"])
        return mask, lambda rows: [
            f"a country the account used for {100 * country_share[r]:.0f}% of its transactions, at least "
            f"{p['min_hour_shift']:g} h from its usual time of day, {zscore[r]:.1f} standard deviations above its "
            "mean amount"
            for r in rows
        ]
    if rule.kind == Rule.Kind.AMOUNT_JUMP:
        vs_usual, vs_max = frame.column("amount_vs_category"), frame.column("amount_vs_max")
        category_z, zscore = frame.column("amount_category_zscore"), frame.column("amount_zscore")
        mask = (
            (vs_usual >= np.log(p["multiple"]))
            & (category_z >= p["min_category_zscore"])
            & (zscore >= p["min_zscore"])
            & (vs_max >= np.log(p["over_max"]))
        )
        return mask, lambda rows: [
            f"{np.exp(vs_usual[r]):,.0f} x the account's median in this category "
            f"({category_z[r]:.1f} robust standard deviations), {zscore[r]:.1f} standard deviations above its mean, "
            f"{np.exp(vs_max[r]):,.1f} x its largest earlier amount"
            for r in rows
        ]
    if rule.kind == Rule.Kind.VELOCITY:
        count = frame.window_count(p["window_minutes"] * 60)
        mask = count >= p["min_count"]
        return mask, lambda rows: [f"{count[r]} transactions within {p['window_minutes']:g} min" for r in rows]
    raise ValidationError({"kind": f"Unknown rule kind {rule.kind!r}."})
