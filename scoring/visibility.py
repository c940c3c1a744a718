"""Who may see which transactions (and the decisions taken on them).

A person sees a transaction when they may see a case it belongs to, or when it belongs to no case and
they may follow the live decisions; people who see every case see every transaction. That rule is the
cases app's (it knows cases and who sees them), so cases registers it here at start-up
(`CasesConfig.ready()`), and everything that shows transactions to people -- the transactions API,
the live feed -- asks through `transactions_visible_to`. Without a registered rule nobody sees any.
API keys are not people: they see their own source's transactions (their callers filter by source).
"""

from collections.abc import Callable

from django.db.models import QuerySet

from scoring.models import Transaction

_rule: Callable[[object, QuerySet], QuerySet] | None = None


def transactions_visibility_register(rule: Callable[[object, QuerySet], QuerySet]) -> None:
    """Set the rule: (user, a Transaction queryset) -> the part of it the user may see."""
    global _rule
    _rule = rule


def transactions_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The transactions of `queryset` (all of them by default) that `user` may see."""
    queryset = Transaction.objects.all() if queryset is None else queryset
    if _rule is None or user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    return _rule(user, queryset)
