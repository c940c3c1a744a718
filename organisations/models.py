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
        default=dict, blank=True, help_text="Settings of this organisation that override the deployment's."
    )
    is_active = models.BooleanField(default=True, help_text="An inactive organisation's people and keys are refused.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def setting(self, name: str, default=None):
        """This organisation's value of a setting, else the deployment's (`settings.<NAME>`), else `default`."""
        if name in self.settings:
            return self.settings[name]
        return getattr(settings, name, default)


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


def organisation_field(*, hot: bool = False, related_name: str = "+") -> models.ForeignKey:
    """The organisation foreign key: non-null, indexed, defaulting to the current organisation.

    `hot` tables (written by COPY in the ingest path) skip the database's per-row foreign-key check; the
    organisation is never deleted while rows point at it (PROTECT) and the writers set it from the context.
    """
    return models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        default=current_organisation_id,
        related_name=related_name,
        db_constraint=not hot,
        editable=False,
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
