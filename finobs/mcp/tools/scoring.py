"""Tools over scoring and intake: score, batch score, ingest, explain, portfolio risk, drift, the leaderboard."""

from datetime import timedelta
from typing import Annotated, Literal

from django.conf import settings
from django.utils import timezone
from pydantic import AwareDatetime, Field

from cases.dashboard import leaderboard
from finobs.mcp.registry import ToolRefused, tools
from finobs.mcp.schemas import (
    BatchScoreResult,
    DriftStatus,
    IngestOutcome,
    Leaderboard,
    PortfolioRiskOut,
    ScoredTransaction,
    TransactionExplanation,
    TransactionIn,
)
from ingestion.services import ingest, transactions_score
from scoring import selectors
from scoring.services.explanations import decision_explanation

Batch = Annotated[
    list[TransactionIn],
    Field(min_length=1, max_length=settings.INGEST_MAX_BATCH, description="The transactions, at most 10,000."),
]


@tools.tool(scope="read", title="Score a transaction (nothing stored)")
def score_transaction(key, transaction: TransactionIn) -> ScoredTransaction:
    """Score one transaction as finobs would if it were ingested now, without storing anything.

    Use it for what-ifs ("would this payment be flagged?"). The score uses the account's stored history, the
    champion model (or an experiment's challenger) and the active rules. No case is opened and the account's
    history is unchanged; to submit a transaction for real, use ingest_transactions."""
    result = transactions_score([transaction.record()], organisation=key.organisation, source=key.source)
    if result.errors:
        error = result.errors[0]
        raise ToolRefused(f"The transaction is invalid: {error.field}: {error.message}")
    return ScoredTransaction.model_validate(result.scored[0], from_attributes=True)


@tools.tool(scope="read", title="Score up to 10,000 transactions (nothing stored)")
def batch_score(key, transactions: Batch) -> BatchScoreResult:
    """Score up to 10,000 transactions at once without storing anything, as score_transaction does for one.

    Invalid items are reported in `errors` (by their position) and the others are still scored. Transactions
    of the same account in one list do not see each other as history (none of them is stored)."""
    result = transactions_score([t.record() for t in transactions], organisation=key.organisation, source=key.source)
    return BatchScoreResult.model_validate(
        {"scored": result.scored, "errors": result.errors, "flagged": sum(1 for s in result.scored if s.flagged)},
        from_attributes=True,
    )


def _ingest_audit(outcome: IngestOutcome) -> dict:
    return {
        "accepted": outcome.accepted,
        "flagged": outcome.flagged,
        "duplicates": len(outcome.duplicates),
        "errors": len(outcome.errors),
        "transaction_ids": [d.transaction_id for d in outcome.decisions],
    }


@tools.tool(scope="ingest", title="Ingest transactions (stored, scored, may open cases)", audit=_ingest_audit)
def ingest_transactions(key, transactions: Batch) -> IngestOutcome:
    """Submit up to 10,000 transactions to finobs for real: each is validated, scored, stored with its decision,
    and a flagged one opens or extends a case for analysts; integrators' callbacks and live feeds receive them.

    The source is your API key's. Sending a transaction again (the same external_id) stores nothing new: it
    comes back under `duplicates` with the decision stored the first time, so a retry after a lost answer is
    safe. Invalid items are reported in `errors` and the others are still ingested."""
    result = ingest([t.record() for t in transactions], organisation=key.organisation, source=key.source, actor=key)
    return IngestOutcome.model_validate(result.as_dict(), from_attributes=True)


@tools.tool(scope="read", title="Explain a stored transaction's score")
def explain_transaction(
    key,
    transaction_id: Annotated[int | None, Field(description="finobs' id of the transaction.")] = None,
    external_id: Annotated[str | None, Field(description="Or your external_id for it.")] = None,
) -> TransactionExplanation:
    """Why a stored transaction scored as it did: the features that pushed its score towards anomalous or
    normal (SHAP contributions of the model that scored it) and the rules that hit.

    Name the transaction by transaction_id (as ingest_transactions or get_case return it) or by external_id.
    Only transactions of your API key's source can be explained."""
    txn = selectors.source_transaction(source=key.source, transaction_id=transaction_id, external_id=external_id)
    decision = getattr(txn, "decision", None) if txn is not None else None
    if txn is None:
        raise ToolRefused("No transaction of your source has this id.")
    if decision is None or decision.features is None:
        raise ToolRefused("This transaction has no scored decision to explain.")
    explanation = decision_explanation(decision=decision)
    if explanation is None:
        raise ToolRefused("The model version that scored this transaction has no explainer.")
    return TransactionExplanation.of(
        txn,
        score=decision.score,
        risk_level=decision.risk_level,
        flagged=decision.flagged,
        model_version=decision.model_version.version,
        method=explanation["method"],
        base_value=explanation["base_value"],
        contributions=explanation["contributions"],
        rule_hits=decision.rule_hits,
    )


@tools.tool(scope="read", title="Portfolio risk over a period")
def portfolio_risk(
    key,
    window_hours: Annotated[int, Field(ge=1, le=24 * 366, description="The period: the last N hours.")] = 168,
    until: Annotated[AwareDatetime | None, Field(description="End of the period (ISO 8601); default now.")] = None,
    group_by: Annotated[
        Literal["account", "merchant", "country", "channel"], Field(description="What to rank the risk by.")
    ] = "account",
    top: Annotated[int, Field(ge=1, le=100, description="How many groups and accounts to return.")] = 10,
) -> PortfolioRiskOut:
    """Risk of your source's transactions decided over a period: how many, how many flagged and their share,
    decisions per risk level, the riskiest accounts, merchants, countries or channels (most flagged first),
    the riskiest accounts, and the trend by hour (periods up to 48 h) or by day.

    Use it to answer "where is the risk this week?" before drilling into cases with list_cases."""
    end = until or timezone.now()
    risk = selectors.portfolio_risk(
        since=end - timedelta(hours=window_hours), until=end, group_by=group_by, source=key.source, top=top
    )
    return PortfolioRiskOut.model_validate(risk, from_attributes=True)


@tools.tool(scope="read", title="Model drift")
def drift_status(key) -> DriftStatus:
    """Whether the champion model's inputs and scores have drifted from its training data, from the latest drift
    check: PSI and KS per feature, the features that drifted, and whether retraining was started.

    A drifted model's scores deserve less trust until it is retrained."""
    summary = selectors.drift_summary(top=10)
    latest = summary["latest"]
    if latest is None:
        return DriftStatus(status=summary["status"], check_hours=summary["check_hours"])
    return DriftStatus(
        status=summary["status"],
        check_hours=summary["check_hours"],
        checked_at=latest["created_at"],
        model_version=latest["version"],
        window_size=latest["window_size"],
        score=latest["score"],
        drifted_features=latest["drifted_features"] or [],
        top_features=latest["top_features"],
        retraining_started=latest["retraining_started"],
    )


@tools.tool(scope="read", title="Model leaderboard")
def model_leaderboard(key) -> Leaderboard:
    """The organisation's model versions with their held-out precision, recall, F1, average precision and alert
    rate (flagging at the HIGH threshold), the champion (the model serving traffic) first."""
    return Leaderboard(models=leaderboard())
