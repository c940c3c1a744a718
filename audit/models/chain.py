"""The audit trail: an append-only, hash-chained log of who did what to which object."""

from django.db import models

from organisations.models import OrganisationOwned, OrganisationQuerySet, organisation_field, organisation_manager


class AuditImmutableError(Exception):
    """Raised when code tries to change or remove an audit event: the trail is append-only."""


class AuditEventQuerySet(OrganisationQuerySet):
    def update(self, **kwargs):
        raise AuditImmutableError("Audit events are append-only: QuerySet.update() is not allowed.")

    def delete(self):
        raise AuditImmutableError("Audit events are append-only: QuerySet.delete() is not allowed.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditImmutableError("Audit events are append-only: QuerySet.bulk_update() is not allowed.")


class AuditEvent(OrganisationOwned):
    """One entry of its organisation's chain; write it through audit.services, never directly.

    What happens outside every organisation (platform staff signing in, creating an organisation) goes to
    the platform's own chain: the rows without an organisation.
    """

    organisation = organisation_field(platform=True, help_text="Whose chain; empty for the platform's.")

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(default=dict)
    # Unique per organisation, so two appends that read the same head cannot both commit: a chain cannot fork.
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = organisation_manager(AuditEventQuerySet)

    class Meta:
        ordering = ["id"]
        # The base manager is what Django uses internally; it must refuse changes too.
        base_manager_name = "objects"
        # Adding, changing or deleting events is never granted, so only "view" is a permission.
        default_permissions = ("view",)
        permissions = [
            ("export_audit", "Can export the audit trail"),
            ("verify_audit", "Can verify the audit chain"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "prev_hash"], name="audit_chain_no_fork"),
            # The platform's chain (no organisation) cannot fork either.
            models.UniqueConstraint(
                fields=["prev_hash"], condition=models.Q(organisation__isnull=True), name="audit_platform_chain_no_fork"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["organisation", "action"], name="audit_event_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutableError(f"Audit event {self.pk} is append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutableError(f"Audit event {self.pk} is append-only and cannot be deleted.")
