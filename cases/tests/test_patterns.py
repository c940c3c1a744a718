"""The typology checks on rows: what matches, with which rows, and what a legitimate look-alike does not."""

from cases.investigations import patterns
from cases.investigations.patterns import Row

H = 3600.0


def row(i, t, amount, *, country="DE", channel="card_present", device="", account="a", merchant="m"):
    return Row(id=i, account_id=account, amount=amount, t=t, merchant_id=merchant, country=country,
               channel=channel, device=device)  # fmt: skip


def test_account_takeover_needs_two_novelties_and_a_quiet_period_or_an_unusual_amount():
    baseline = [row(i, i * H, 40.0, channel="online" if i % 2 else "card_present", device="dev-own") for i in range(20)]
    session = [row(100, 40 * H, 900.0, country="NG", channel="online", device="dev-new"),
               row(101, 40 * H + 300, 1200.0, country="NG", channel="online", device="dev-new")]  # fmt: skip
    matched = patterns.account_takeover(session, baseline)
    assert matched.matched and matched.rows == [100, 101]
    travel = [row(200, 40 * H, 60.0, country="ES", channel="card_present")]  # one novelty: a trip
    assert not patterns.account_takeover(travel, baseline).matched
    assert not patterns.account_takeover(session, []).matched  # nothing to compare with: no claim


def test_structuring_card_testing_and_round_amounts():
    structuring = [row(i, i * H, 9_500.0 - i * 100) for i in range(3)]
    assert patterns.structuring(structuring).rows == [0, 1, 2]
    assert not patterns.structuring(structuring[:1]).matched
    testing = [row(i, i * 60.0, 1.0 + i / 10, channel="online", merchant=f"m{i}") for i in range(5)]
    assert patterns.card_testing(testing).matched and "5 merchant(s)" in patterns.card_testing(testing).detail
    assert patterns.round_amounts([row(i, i * H, 5_000.0) for i in range(3)]).matched
    assert not patterns.round_amounts([row(i, i * H, 5_010.0) for i in range(3)]).matched
