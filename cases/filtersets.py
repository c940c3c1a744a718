"""One FilterSet for cases, used by the worklist page and GET /api/v1/cases/ alike."""

from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Case as When_
from django.db.models import IntegerField, Q, Value, When
from django.utils import timezone

from cases.models import Case, Severity
from scoring.models import Transaction

SEVERITY_RANK = When_(
    *(
        When(severity=s, then=Value(rank))
        for s, rank in ((Severity.CRITICAL, 0), (Severity.HIGH, 1), (Severity.MEDIUM, 2), (Severity.LOW, 3))
    ),
    output_field=IntegerField(),
)


class CaseFilterSet(django_filters.FilterSet):
    QUEUES = (
        ("mine", "My cases"),
        ("team", "My teams' queue"),
        ("unassigned", "Unassigned"),
        ("breaching", "SLA breaching soon"),
    )
    STATES = (("open", "Open"), ("closed", "Closed"), ("all", "All"))

    queue = django_filters.ChoiceFilter(choices=QUEUES, method="filter_queue", empty_label="All I can see")
    state = django_filters.ChoiceFilter(choices=STATES, method="filter_state", empty_label="Open")
    # distinct=False: these filter the case table itself (no join can duplicate a row), and DISTINCT
    # would make PostgreSQL sort every match before the page's LIMIT.
    status = django_filters.MultipleChoiceFilter(choices=Case.Status.choices, distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    outcome = django_filters.MultipleChoiceFilter(choices=Case.Outcome.choices, distinct=False)
    assignee = django_filters.CharFilter(method="filter_assignee", help_text='A username, "me" or "none".')
    team = django_filters.CharFilter(field_name="team__slug", help_text="A team's slug.")
    opened_after = django_filters.DateFilter(
        field_name="opened_at", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    opened_before = django_filters.DateFilter(
        field_name="opened_at", lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"})
    )
    q = django_filters.CharFilter(method="filter_text", help_text="A case reference, or the start of an account id.")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("sla_due_at", "sla"),
            ("opened_at", "opened"),
            ("updated_at", "updated"),
            ("priority", "priority"),
            ("severity_rank", "severity"),
            ("reference", "reference"),
        ),
        help_text="sla, opened, updated, priority, severity, reference; prefix - for descending.",
        empty_label="Newest first",
    )

    class Meta:
        model = Case
        fields = ["status", "severity", "outcome", "team"]

    @property
    def qs(self):
        queryset = super().qs
        # Open cases by default: a worklist is what is left to do. state=all/closed widens it.
        if not self.form.cleaned_data.get("state") and not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=Case.Status.CLOSED)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("-opened_at", "-id")
        return queryset

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset.annotate(severity_rank=SEVERITY_RANK))

    def filter_state(self, queryset, name, value):
        if value == "closed":
            return queryset.filter(status=Case.Status.CLOSED)
        return queryset if value == "all" else queryset.exclude(status=Case.Status.CLOSED)

    def filter_queue(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if value in {"mine", "team"} and not getattr(user, "is_authenticated", False):
            return queryset.none()  # an API key is nobody's colleague
        if value == "mine":
            return queryset.filter(assignee_id=getattr(user, "pk", None))
        if value == "team":
            return queryset.filter(team__members=user)
        if value == "unassigned":
            return queryset.filter(assignee__isnull=True)
        if value == "breaching":
            soon = timezone.now() + timedelta(hours=settings.CASES_SLA_WARNING_HOURS)
            return queryset.exclude(status=Case.Status.CLOSED).filter(sla_due_at__lte=soon)
        return queryset

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            user = getattr(self.request, "user", None)
            return queryset.filter(assignee_id=user.pk) if getattr(user, "is_authenticated", False) else queryset.none()
        return queryset.filter(assignee__username=value)

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # References are upper case; exact reference and account-prefix matches both use an index.
        return queryset.filter(Q(reference=value.upper()) | Q(account_id__startswith=value))


class TransactionFilterSet(django_filters.FilterSet):
    """Transaction search (the search page and GET /api/v1/transactions/): one account, a time range,
    flagged or not. The account is required, so every search descends the (organisation, account,
    occurred_at) index whatever the table's size."""

    account = django_filters.CharFilter(field_name="account_id", required=True, help_text="The account id, exactly.")
    flagged = django_filters.BooleanFilter(field_name="decision__flagged", help_text="true: flagged only; false: not.")

    class Meta:
        model = Transaction
        fields = []

    def clean_range(self) -> None:
        """A range wider than TRANSACTION_SEARCH_MAX_DAYS, or one that ends before it starts, is refused."""
        start, end = self.form.cleaned_data.get("from"), self.form.cleaned_data.get("to")
        if start and end and end <= start:
            self.form.add_error("to", "The range ends before it starts.")
        elif start and end and end - start > timedelta(days=settings.TRANSACTION_SEARCH_MAX_DAYS):
            self.form.add_error("to", f"Search at most {settings.TRANSACTION_SEARCH_MAX_DAYS} days at once.")

    def is_valid(self) -> bool:
        if not super().is_valid():
            return False
        self.clean_range()
        return not self.form.errors


# "from" is a Python keyword: the range filters are added under their URL names.
TransactionFilterSet.base_filters.update(
    {
        "from": django_filters.IsoDateTimeFilter(
            field_name="occurred_at", lookup_expr="gte", help_text="Occurred at or after (ISO 8601)."
        ),
        "to": django_filters.IsoDateTimeFilter(
            field_name="occurred_at", lookup_expr="lt", help_text="Occurred before (ISO 8601)."
        ),
    }
)
