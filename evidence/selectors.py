"""Reads of exports."""

from evidence.models import ExportRecord


def exports_visible_to(user):
    """The exports `user` may see (their own; all of the organisation with audit.export_audit), newest first."""
    return ExportRecord.objects.visible_to(user).select_related("requested_by")
