"""Filters of delivery's lists, shared by the API (and any page that lists the same rows)."""

import django_filters

from delivery.models import Delivery


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Delivery.Status.choices, distinct=False, help_text="dead = the dead-letter queue."
    )
    endpoint = django_filters.NumberFilter(field_name="endpoint_id", min_value=1, max_value=2**63 - 1, step_size=1)
    event_type = django_filters.CharFilter()

    class Meta:
        model = Delivery
        fields = ["status", "endpoint", "event_type"]
