"""Whose view of the data an investigation reads: a person's, the agent's system identity's, or an API key's.

The tools read only through this scope, so one Workbench serves every way an investigation is asked for. A
key (an AI assistant over MCP) is no person: its investigation runs as the organisation's agent identity
narrowed to what the key itself may read, the cases and transactions of its source (as get_case and
explain_transaction show them), never more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from cases import selectors
from cases.models import Case, CaseTransaction
from scoring.models import Transaction
from scoring.visibility import transactions_visible_to


@dataclass(frozen=True)
class ReadScope:
    user: object  # the person who asked, or the agent's system identity (continuous mode, an API key's request)
    api_key: object | None = None  # an API key's request: only its source's cases and transactions

    @classmethod
    def of(cls, investigation) -> ReadScope:
        return cls(user=investigation.requested_by, api_key=investigation.api_key)

    def cases(self) -> QuerySet:
        """The cases the investigation may read (the case itself, similar closed cases)."""
        if self.api_key is not None:
            return selectors.cases_for_api_key(self.api_key)
        return Case.objects.visible_to(self.user)

    def transactions(self, queryset: QuerySet | None = None) -> QuerySet:
        """The transactions (of `queryset`, all by default) the investigation may read."""
        if self.api_key is not None:
            queryset = Transaction.objects.all() if queryset is None else queryset
            return queryset.filter(source=self.api_key.source)
        return transactions_visible_to(self.user, queryset)

    def case_links(self, case: Case) -> list[CaseTransaction]:
        """The case's transactions with their decisions (selectors.case_transactions) that it may read."""
        links = selectors.case_transactions(case)
        if self.api_key is None:
            return links
        return [link for link in links if link.transaction.source == self.api_key.source]

    @property
    def sees_explanations(self) -> bool:
        """Whether the model's SHAP explanations are evidence: a key with `read` has explain_transaction."""
        return self.api_key is not None or self.user.has_perm("scoring.view_explanation")

    def backtest_transactions(self) -> QuerySet | None:
        """What a drafted rule is replayed on: the organisation's latest (None) for people and the agent, the
        key's source only for a key (the backtest's sample names transactions)."""
        return None if self.api_key is None else self.transactions()
