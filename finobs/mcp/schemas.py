"""The MCP tools' typed inputs and outputs (pydantic): the schemas a model reads in tools/list."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

RiskLevelName = Annotated[str, Field(description="LOW, MEDIUM, HIGH or CRITICAL.")]
Index = Annotated[int, Field(description="Position of the item in the list sent (from 0).")]
Score = Annotated[float, Field(description="0..1, higher is more anomalous.")]


class TransactionIn(BaseModel):
    """One transaction as an integrator sends it to the ingest API."""

    model_config = ConfigDict(extra="forbid")

    external_id: str = Field(description="Your id for the transaction, unique within your source (1-128 chars).")
    account_id: str = Field(description="The customer account the money moves from (1-128 chars).")
    amount: Decimal = Field(description="Amount in the currency's units, at most 4 decimals; negative for refunds.")
    currency: str = Field(description="ISO 4217 code, e.g. EUR.")
    timestamp: AwareDatetime = Field(description="When it happened, ISO 8601 with a UTC offset or Z.")
    merchant_id: str = Field("", description="The merchant or counterparty, if any.")
    merchant_category: str = Field("", description="Merchant category code (MCC), 4 digits.")
    country: str = Field("", description="ISO 3166 alpha-2 country of the merchant or counterparty, e.g. DE.")
    channel: str = Field("", description="Lowercase channel such as card_present, online, wire, atm.")
    metadata: dict = Field(default_factory=dict, description="Any further fields, kept with the transaction.")

    def record(self) -> dict:
        """The item as the ingest API receives it (JSON types), for the one validation all sources share."""
        return self.model_dump(mode="json")


class RuleHit(BaseModel):
    rule: str = Field(description="The rule's code.")
    name: str
    action: str = Field(description="raise (raises the risk level) or flag (flags the transaction).")
    risk_level: RiskLevelName
    reason: str = Field(description="Why the rule hit, in words.")


class ItemError(BaseModel):
    index: Index
    field: str
    message: str


class ScoredTransaction(BaseModel):
    index: Index
    external_id: str
    score: Score
    risk_level: RiskLevelName
    flagged: bool = Field(description="Whether finobs would flag it for review (and open or extend a case).")
    model_version: int = Field(description="The model version that scored it.")
    rule_hits: list[RuleHit]


class BatchScoreResult(BaseModel):
    scored: list[ScoredTransaction] = Field(description="One entry per valid item, in the order sent.")
    errors: list[ItemError] = Field(description="Items that failed validation; the others were still scored.")
    flagged: int = Field(description="How many of the scored items would be flagged.")


class StoredDecision(BaseModel):
    transaction_id: int = Field(description="finobs' id of the stored transaction (for explain_transaction).")
    external_id: str | None = None
    score: float | None
    risk_level: str | None
    flagged: bool | None
    model_version: int | None
    case_reference: str | None = Field(None, description="The case the flagged transaction was added to, if any.")


class Duplicate(BaseModel):
    index: Index
    external_id: str
    duplicate_of_index: int | None = Field(None, description="An earlier item of the same list with this id.")
    decision: StoredDecision | None = Field(None, description="The decision stored when it was first ingested.")


class IngestOutcome(BaseModel):
    accepted: int = Field(description="Transactions stored and scored now.")
    flagged: int = Field(description="Of those, how many were flagged.")
    decisions: list[StoredDecision]
    duplicates: list[Duplicate] = Field(
        description="Items already stored for your source (or repeated in the list): not stored again."
    )
    errors: list[ItemError]


class Contribution(BaseModel):
    feature: str
    label: str = Field(description="The feature in words.")
    value: float = Field(description="The feature's value for this transaction.")
    contribution: float = Field(description="SHAP value: > 0 pushes towards anomalous, < 0 towards normal.")
    text: str = Field(description="The contribution in one sentence.")


class StoredTransaction(BaseModel):
    transaction_id: int = Field(description="finobs' id of the transaction.")
    external_id: str
    account_id: str
    amount: Decimal
    currency: str
    occurred_at: datetime

    @classmethod
    def of(cls, txn, **fields):
        """`cls` for the stored Transaction `txn`, with the fields of `cls` beyond the transaction's."""
        return cls(
            transaction_id=txn.pk,
            external_id=txn.external_id,
            account_id=txn.account_id,
            amount=txn.amount,
            currency=txn.currency,
            occurred_at=txn.occurred_at,
            **fields,
        )


class TransactionExplanation(StoredTransaction):
    score: Score
    risk_level: RiskLevelName
    flagged: bool
    model_version: int
    method: str = Field(description="How the contributions were computed.")
    base_value: float = Field(description="The model's expected output, which contributions move away from.")
    contributions: list[Contribution] = Field(description="The largest contributions, largest first.")
    rule_hits: list[RuleHit]


class RiskGroupOut(BaseModel):
    key: str = Field(description='The account, merchant, country or channel ("" when transactions name none).')
    transactions: int
    flagged: int
    flagged_share: float | None
    mean_score: float | None
    max_score: float | None


class RiskTrendPointOut(BaseModel):
    start: datetime = Field(description="Start of the hour or day (UTC).")
    transactions: int
    flagged: int
    flagged_share: float | None


class PortfolioRiskOut(BaseModel):
    since: datetime
    until: datetime
    group_by: str
    bucket: str = Field(description="The trend's step: hour (windows up to 48 h) or day.")
    transactions: int
    flagged: int
    flagged_share: float | None = Field(description="flagged / transactions, None without transactions.")
    mean_score: float | None
    risk_levels: dict[str, int] = Field(description="Decisions per risk level.")
    groups: list[RiskGroupOut] = Field(description="The riskiest groups: most flagged first, then highest score.")
    top_accounts: list[RiskGroupOut] = Field(description="The riskiest accounts, ranked the same way.")
    trend: list[RiskTrendPointOut] = Field(description="Oldest first; hours or days without decisions are absent.")


class CaseSummary(BaseModel):
    reference: str
    title: str
    account_id: str
    status: str
    severity: str
    priority: int = Field(description="1 (highest) to 4.")
    team: str | None = Field(description="The team's slug.")
    assignee: str | None = Field(description="The assignee's username.")
    opened_at: datetime
    sla_due_at: datetime
    closed_at: datetime | None
    outcome: str = Field(description='How it was closed ("" while open).')
    transaction_count: int


class CaseList(BaseModel):
    total: int = Field(description="How many cases match the filters.")
    cases: list[CaseSummary]


class CaseTransactionOut(StoredTransaction):
    merchant_id: str
    country: str
    channel: str
    score: float | None
    risk_level: str | None
    flagged: bool | None
    model_version: int | None
    rule_hits: list[RuleHit]


class TimelineEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    data: dict
    comment: str | None = Field(None, description="The comment's text, for a comment.")


class SimilarCaseOut(BaseModel):
    reference: str
    title: str
    outcome: str
    severity: str
    similarity: float = Field(description="0..1, 1 = identical transactions.")


class CaseDetail(BaseModel):
    case: CaseSummary
    rationale: str = Field(description="The closing rationale, once closed.")
    transactions: list[CaseTransactionOut] = Field(description="Newest first, with the decision on each.")
    other_sources_transactions: int = Field(
        description="Of the case's latest 100 transactions, those from other sources (not shown)."
    )
    timeline: list[TimelineEvent] = Field(description="Oldest first.")
    similar_cases: list[SimilarCaseOut] = Field(description="Closed cases with the nearest transactions.")


class FeatureDrift(BaseModel):
    name: str
    psi: float | None = None
    ks: float | None = None
    ks_pvalue: float | None = None
    drifted: bool | None = None


class DriftStatus(BaseModel):
    status: str = Field(description="stable, drifted, or none (no check has run yet).")
    check_hours: float = Field(description="How often drift is checked.")
    checked_at: datetime | None = None
    model_version: int | None = None
    window_size: int | None = Field(None, description="The recent decisions compared with the training data.")
    score: FeatureDrift | None = Field(None, description="Drift of the model's score itself.")
    drifted_features: list[str] = Field(default_factory=list)
    top_features: list[FeatureDrift] = Field(default_factory=list, description="Largest PSI first.")
    retraining_started: bool | None = None


class ModelVersionOut(BaseModel):
    version: int
    status: str = Field(description="champion serves traffic; challenger, candidate or retired otherwise.")
    algorithm: str
    training_size: int | None
    created_at: datetime
    precision: float | None
    recall: float | None
    f1: float | None
    average_precision: float | None
    alert_rate: float | None


class Leaderboard(BaseModel):
    models: list[ModelVersionOut] = Field(description="Champion first, then by held-out F1.")


class InvestigationQueued(BaseModel):
    investigation_id: int = Field(description="finobs' id of the investigation (for get_investigation).")
    case_reference: str
    status: str = Field(description="queued or running while under way; done or failed when it ended.")


class EvidenceOut(BaseModel):
    id: str = Field(description="The evidence id findings and proposals cite, e.g. tx:1042 or pattern:structuring.")
    kind: str
    summary: str


class FindingOut(BaseModel):
    title: str
    detail: str
    evidence_ids: list[str] = Field(description="The evidence the finding rests on (ids of `evidence`).")


class RecommendationOut(BaseModel):
    outcome: str = Field(
        description="confirmed_fraud, sar_filed, false_positive, no_action, escalate or request_information."
    )
    confidence: float = Field(description="0..1.")
    rationale: str
    evidence_ids: list[str]


class ProposalOut(BaseModel):
    id: int
    kind: str = Field(description="close_as, escalate, assign, request_information or draft_rule.")
    summary: str = Field(description="What the agent proposes, in one line.")
    status: str = Field(
        description="proposed (waiting for a person), accepted (applied as a request waiting for a second "
        "approver), applied, rejected, or expired (a later investigation superseded it)."
    )
    rationale: str
    evidence_ids: list[str]
    decided_by: str | None = Field(description="The person who accepted or rejected it.")
    decided_at: datetime | None
    reason: str = Field(description="The decider's reason (required for a rejection).")


class InvestigationOut(BaseModel):
    investigation_id: int
    case_reference: str
    status: str = Field(description="queued, running, done or failed.")
    mode: str = Field(description="on_demand (a person asked), continuous (the agent's scan) or mcp (an API key).")
    requested_by: str = Field(description="The person's username, or api:<prefix> for an API key.")
    created_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    recommendation: RecommendationOut | None = Field(description="Once done: the outcome the evidence supports.")
    findings: list[FindingOut]
    narrative: str
    evidence: list[EvidenceOut] = Field(description="Every evidence item the agent's tools returned, by id.")
    proposals: list[ProposalOut] = Field(description="The actions it proposes; each waits for a person to decide.")
    dropped_claims: int = Field(description="Claims that cited evidence no tool returned: dropped, never shown.")
    error: str = Field(description="Why it failed, for a failed investigation.")
