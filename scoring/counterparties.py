"""Counterparty (fan-in) and fan-out features: distinct members of a group within trailing windows, vectorised.

Fan-in groups payments by counterparty (the merchant, or the payee of a wire) and counts distinct sending
accounts; fan-out groups them by account and counts distinct payees. Serving reads the raw payments of the
last 24 hours and each earlier sender's first and latest payment (scoring.history); training has every
payment in memory. scoring.features puts the columns in the feature matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from scoring.history import COUNTERPARTY_LOOKBACK, AccountHistory, RecentRows

COUNTERPARTY_WINDOWS_S = {"1h": 3600.0, "24h": 86_400.0, "7d": COUNTERPARTY_LOOKBACK.total_seconds()}


@dataclass(frozen=True)
class Payments:
    """Events grouped by a key (a counterparty, or an account), each naming a member (the sender, or the
    payee), and the batch rows asking about them: distinct members within trailing windows, vectorised.

    A member is present at time T in a window w when one of its events lies in [T - w, T]. Its presence is a
    union of intervals [t, t + w] over its events: an interval opens at an event more than w after the
    member's previous one and closes w after an event with no next one within w. Distinct members at T
    are then the openings up to T minus the closings before T, two binary searches per row.
    """

    group: np.ndarray  # int64 code per event
    member: np.ndarray  # int64 code per event
    epoch_s: np.ndarray  # float64 per event
    amount_eur: np.ndarray  # float64 per event
    is_first: np.ndarray  # bool: the member's first ever event in the group (counted once, wherever it is)
    query_group: np.ndarray  # int64 per batch row, -1 when the row has no group
    query_s: np.ndarray  # float64 per batch row
    span: float  # group stride in the composite (group, time) keys
    # Per batch row: members counted in its 7-day window without events of their own (CounterpartySenders.folded)
    extra_7d: np.ndarray | None = None
    extra_firsts_7d: np.ndarray | None = None

    def _composite(self, group: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        return group * self.span + seconds

    @cached_property
    def _by_pair(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(pair, group, seconds) of every event, sorted by pair then time: the same for every window."""
        return self._sorted_by_pair(np.ones(len(self.group), bool))

    def _sorted_by_pair(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        group, member, seconds = self.group[keep], self.member[keep], self.epoch_s[keep]
        pair = group * (int(self.member.max(initial=0)) + 1) + member
        order = np.lexsort((seconds, pair))
        return pair[order], group[order], seconds[order]

    def distinct(self, window_s: float, include: np.ndarray | None = None) -> np.ndarray:
        pair, group, seconds = self._by_pair if include is None else self._sorted_by_pair(include)
        same_previous = np.concatenate([[False], pair[1:] == pair[:-1]])
        gap_before = np.where(same_previous, seconds - np.concatenate([[0.0], seconds[:-1]]), np.inf)
        same_next = np.concatenate([pair[1:] == pair[:-1], [False]])
        gap_after = np.where(same_next, np.concatenate([seconds[1:], [0.0]]) - seconds, np.inf)
        opens = np.sort(self._composite(group, seconds)[gap_before > window_s])
        closes = np.sort(self._composite(group, seconds + window_s)[gap_after > window_s])
        at = self._composite(self.query_group, self.query_s)
        counts = np.searchsorted(opens, at, "right") - np.searchsorted(closes, at, "left")
        counts -= np.searchsorted(opens, self._composite(self.query_group, -1.0), "right")
        counts += np.searchsorted(closes, self._composite(self.query_group, -1.0), "left")
        return np.where(self.query_group >= 0, counts, 0)

    def window_sum(self, window_s: float, values: np.ndarray) -> np.ndarray:
        """Per batch row: `values` summed over the group's events in [t - window_s, t]."""
        order = np.argsort(self._composite(self.group, self.epoch_s), kind="stable")
        keys = self._composite(self.group, self.epoch_s)[order]
        cumulative = np.concatenate([[0.0], np.cumsum(values[order])])
        at = self._composite(self.query_group, self.query_s)
        left = np.searchsorted(keys, at - window_s, "left")
        total = cumulative[np.searchsorted(keys, at, "right")] - cumulative[left]
        return np.where(self.query_group >= 0, total, 0.0)

    def firsts(self, window_s: float) -> np.ndarray:
        """Per batch row: members whose first ever event in the group lies in [t - window_s, t]."""
        keys = np.sort(self._composite(self.group, self.epoch_s)[self.is_first])
        at = self._composite(self.query_group, self.query_s)
        counts = np.searchsorted(keys, at, "right") - np.searchsorted(keys, at - window_s, "left")
        return np.where(self.query_group >= 0, counts, 0)


def grouped(*, group, member, epoch_s, amount_eur, is_first, query_group, query_s, include) -> Payments:
    """A Payments of the events where `include` holds (group: int codes; member: strings)."""
    epoch_s = np.asarray(epoch_s, np.float64)
    every = np.concatenate([epoch_s, query_s])
    start = float(every.min()) if len(every) else 0.0
    span = (float(every.max()) - start if len(every) else 0.0) + 2 * COUNTERPARTY_WINDOWS_S["7d"] + 10.0
    codes = _codes(member[include])
    return Payments(
        group=np.asarray(group[include], np.int64),
        member=np.asarray(codes, np.int64),
        epoch_s=epoch_s[include] - start,
        amount_eur=np.asarray(amount_eur, np.float64)[include],
        is_first=np.asarray(is_first, bool)[include],
        query_group=np.asarray(query_group, np.int64),
        query_s=np.asarray(query_s, np.float64) - start,
        span=span,
    )


def counterparty_payments(batch: RecentRows, history: AccountHistory) -> Payments:
    """The payments to the batch's counterparties: the stored ones of the last 24 hours (raw), each earlier
    sender's latest and first payment (from CounterpartySender), and the batch's own.

    Every sender whose first payment predates the raw window has an event at that first time, so a pair's
    earliest event here is its first ever, in serving as in training (where everything is raw).
    """
    recent, senders = history.counterparty_recent, history.counterparty_senders
    before = senders.last_epoch_s < history.recent_from_s  # no raw payment in the window: its latest one
    extra_first = (senders.first_epoch_s < history.recent_from_s) & (senders.first_epoch_s != senders.last_epoch_s)
    merchant = np.concatenate(
        [senders.merchant[before], senders.merchant[extra_first], recent.merchant, batch.merchant]
    )
    account = np.concatenate([senders.account[before], senders.account[extra_first], recent.account, batch.account])
    epoch_s = np.concatenate(
        [senders.last_epoch_s[before], senders.first_epoch_s[extra_first], recent.epoch_s, batch.epoch_s]
    )
    n_virtual = int(before.sum()) + int(extra_first.sum())
    amount_eur = np.concatenate([np.zeros(n_virtual), np.abs(recent.amount_eur), np.abs(batch.amount_eur)])
    m = len(merchant)
    merchant_code, account_code = _codes(merchant), _codes(account)
    pair = merchant_code * (int(account_code.max(initial=0)) + 1) + account_code
    order = np.lexsort((np.arange(m), epoch_s, pair))
    is_first = np.zeros(m, bool)
    if m:
        is_first[order[np.concatenate([[True], pair[order][1:] != pair[order][:-1]])]] = True
    query_group = np.where(batch.merchant != "", merchant_code[m - len(batch) :], -1)
    payments = grouped(
        group=merchant_code,
        member=account,
        epoch_s=epoch_s,
        amount_eur=amount_eur,
        is_first=is_first,
        query_group=query_group,
        query_s=batch.epoch_s,
        include=merchant != "",
    )
    if not senders.folded:
        return payments
    extra = [senders.folded.get(m, (0, 0)) for m in batch.merchant.tolist()]
    return replace(
        payments,
        extra_7d=np.fromiter((e[0] for e in extra), np.int64, len(extra)),
        extra_firsts_7d=np.fromiter((e[1] for e in extra), np.int64, len(extra)),
    )


def _codes(values: np.ndarray) -> np.ndarray:
    """An int64 code per value, equal codes for equal values (by hashing: sorting 50,000 strings costs more)."""
    return pd.factorize(values)[0].astype(np.int64) if len(values) else np.empty(0, np.int64)


def counterparty_columns(payments: Payments) -> dict[str, np.ndarray]:
    senders = {name: payments.distinct(window_s) for name, window_s in COUNTERPARTY_WINDOWS_S.items()}
    firsts = payments.firsts(COUNTERPARTY_WINDOWS_S["7d"])
    if payments.extra_7d is not None:
        senders["7d"] = senders["7d"] + payments.extra_7d
        firsts = firsts + payments.extra_firsts_7d
    return {
        **{f"counterparty_senders_{name}": np.log1p(count) for name, count in senders.items()},
        "counterparty_new_sender_share": np.where(senders["7d"] > 0, firsts / np.maximum(senders["7d"], 1), 0.0),
        "counterparty_log_inflow_24h": np.log1p(
            payments.window_sum(COUNTERPARTY_WINDOWS_S["24h"], payments.amount_eur)
        ),
    }
