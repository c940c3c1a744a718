"""Organisations (the institutions one deployment hosts), who belongs to which, and the scoping every
business model inherits."""

from django.conf import settings
from django.db import models

from organisations.context import NOBODY, current_organisation_id, scope


class Organisation(models.Model):
    """An institution: its people, data, detection and audit chain are its own."""

    slug = models.SlugField(max_length=50, unique=True, help_text="Short name, used in URLs and the CLI.")
    name = models.CharField(max_length=200, unique=True)
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text="Settings this organisation chooses instead of the deployment's (CASE_SLA_HOURS, DRIFT_WINDOW, "
        "DRIFT_RETRAIN_MIN_FEATURES, RETRAIN_WINDOW_DAYS).",
    )
    is_active = models.BooleanField(default=True, help_text="An inactive organisation's people and keys are refused.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def setting(self, name: str):
        """This organisation's value of one of ORGANISATION_SETTINGS, else the deployment's (`settings.<NAME>`)."""
        if name not in ORGANISATION_SETTINGS:
            raise KeyError(f"{name} is not a setting an organisation may choose.")
        if name in self.settings:
            return self.settings[name]
        return getattr(settings, name)

    def clean(self):
        check_organisation_settings(self.settings)


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _sla_hours(value) -> bool:
    severities = {"low", "medium", "high", "critical"}
    return isinstance(value, dict) and set(value) <= severities and all(_positive_int(v) for v in value.values())


# What an organisation's admin may choose for it (Organisation.settings); anything else stays the
# deployment's. Each with the check its value must pass and what it means.
ORGANISATION_SETTINGS = {
    "CASE_SLA_HOURS": (_sla_hours, 'hours to act on a new case, by severity: {"critical": 4, "high": 24, …}'),
    "DRIFT_WINDOW": (_positive_int, "the latest decisions a drift check compares with the training reference"),
    "DRIFT_RETRAIN_MIN_FEATURES": (_positive_int, "drifted features (besides the score) that start retraining"),
    "RETRAIN_WINDOW_DAYS": (_positive_int, "the days of stored traffic retraining learns from"),
}


def check_organisation_settings(values) -> None:
    """Raise ValidationError unless `values` holds known settings with valid values."""
    from django.core.exceptions import ValidationError

    if not isinstance(values, dict):
        raise ValidationError({"settings": "Settings are a JSON object of NAME: value."})
    errors = {}
    for name, value in values.items():
        if name not in ORGANISATION_SETTINGS:
            errors[name] = f"Not a setting an organisation may choose (those are: {', '.join(ORGANISATION_SETTINGS)})."
        elif not ORGANISATION_SETTINGS[name][0](value):
            errors[name] = f"Invalid value: {ORGANISATION_SETTINGS[name][1]}."
    if errors:
        raise ValidationError({"settings": [f"{name}: {message}" for name, message in errors.items()]})


def organisation_setting(name: str):
    """The current organisation's value of `name` (ORGANISATION_SETTINGS), else the deployment's."""
    from organisations.context import current_organisation

    organisation = current_organisation()
    if organisation is None:
        return getattr(settings, name)
    return organisation.setting(name)


class Membership(models.Model):
    """A person belongs to one organisation. Platform staff belong to none."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organisation"], name="membership_organisation")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation}"


class OrganisationQuerySet(models.QuerySet):
    def for_organisation(self, organisation: Organisation | int):
        """Rows of `organisation` only. Within an organisation's context that can only narrow: the default
        manager already keeps to the current organisation."""
        return self.filter(organisation=organisation)


class OrganisationManager(models.Manager.from_queryset(OrganisationQuerySet)):
    """The default manager of every organisation-owned model: filtered by the current organisation."""

    def get_queryset(self):
        queryset = super().get_queryset()
        current = scope()
        if current is None:
            return queryset
        if current is NOBODY:
            return queryset.none()
        return queryset.filter(organisation_id=current.pk)

    def for_all_organisations(self):
        """Every organisation's rows, whatever the current context: for lookups that decide the context
        (an API key by its prefix) and for platform-wide work."""
        return super().get_queryset()


def organisation_field(
    *, hot: bool = False, related_name: str = "+", platform: bool = False, help_text: str = ""
) -> models.ForeignKey:
    """The organisation foreign key: non-null, indexed, defaulting to the current organisation.

    `hot` tables (written by COPY in the ingest path) skip the database's per-row foreign-key check; the
    organisation is never deleted while rows point at it (PROTECT) and the writers set it from the context.
    `platform` tables also hold the platform's own rows, of no organisation (its audit chain and that
    chain's archives), which only platform work (outside every organisation's context) sees.
    """
    return models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        default=current_organisation_id,
        related_name=related_name,
        db_constraint=not hot,
        editable=False,
        null=platform,
        blank=platform,
        help_text=help_text,
    )


class OrganisationOwned(models.Model):
    """A model whose rows belong to one organisation (abstract). Subclasses may extend
    `OrganisationQuerySet` and build their manager with `OrganisationManager.from_queryset(...)`."""

    organisation = organisation_field()

    objects = OrganisationManager()

    class Meta:
        abstract = True


def organisation_manager(queryset_class: type[OrganisationQuerySet]) -> OrganisationManager:
    """The scoped default manager for a model with a queryset class of its own."""
    return OrganisationManager.from_queryset(queryset_class)()
