"""Limit/offset pagination that refuses what it cannot read, instead of quietly using a default."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_LIMIT = 1000


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` 1..1000 and `?offset=` 0 or more, as integers; anything else is a 400 naming the parameter."""

    max_limit = MAX_LIMIT

    def get_limit(self, request):
        value = request.query_params.get(self.limit_query_param)
        if value is None:
            return self.default_limit
        return _integer(self.limit_query_param, value, low=1, high=self.max_limit)

    def get_offset(self, request):
        value = request.query_params.get(self.offset_query_param)
        if value is None:
            return 0
        return _integer(self.offset_query_param, value, low=0, high=None)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def _integer(name: str, value: str, *, low: int, high: int | None) -> int:
    if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
        bounds = f"{low} to {high}" if high is not None else f"{low} or more"
        raise ValidationError({name: [f"A whole number from {bounds}."]})
    return int(value)
