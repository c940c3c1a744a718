"""Read-only admin for what is evidence: comments, mentions, attachments, timeline entries, links, counters."""

from django.contrib import admin

from cases.models import (
    Attachment,
    CaseCounter,
    CaseEvent,
    CaseTransaction,
    Comment,
    Mention,
    SarDraft,
)
from kernel.admin import ReadOnlyAdmin
from organisations.admin import OrganisationScoped


@admin.register(Comment)
class CommentAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("case", "author", "created_at")
    search_fields = ("case__reference", "author__username")
    list_select_related = ("case", "author")
    readonly_fields = ("case", "author", "body", "created_at")


@admin.register(Mention)
class MentionAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("comment", "user", "created_at", "read_at")
    list_select_related = ("comment", "user")
    readonly_fields = ("comment", "user", "created_at", "read_at")


@admin.register(SarDraft)
class SarDraftAdmin(OrganisationScoped, ReadOnlyAdmin):
    """Read in admin; edited by the analyst on the case's SAR page, approved with the closure."""

    list_display = ("case", "status", "transaction_count", "created_at", "approved_at")
    list_filter = ("status",)
    search_fields = ("case__reference",)
    list_select_related = ("case",)
    readonly_fields = [f.name for f in SarDraft._meta.fields if f.name not in ("id", "organisation")]


@admin.register(CaseEvent)
class CaseEventAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("case", "kind", "actor", "created_at")
    list_filter = ("kind",)
    search_fields = ("case__reference", "actor")
    list_select_related = ("case",)
    readonly_fields = ("case", "kind", "actor", "data", "created_at")


@admin.register(CaseTransaction)
class CaseTransactionAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("case", "transaction", "added_at")
    search_fields = ("case__reference", "transaction__external_id")
    list_select_related = ("case", "transaction")
    raw_id_fields = ("case", "transaction")


@admin.register(CaseCounter)
class CaseCounterAdmin(OrganisationScoped, ReadOnlyAdmin):
    list_display = ("year", "last")


@admin.register(Attachment)
class AttachmentAdmin(OrganisationScoped, ReadOnlyAdmin):
    """Attachments are evidence: listed and inspected here, never edited; files download from the case page."""

    list_display = ("original_name", "case", "size_bytes", "sniffed_type", "scan_status", "uploaded_by", "uploaded_at")
    list_filter = ("scan_status", "sniffed_type")
    search_fields = ("case__reference", "original_name", "sha256")
    list_select_related = ("case", "uploaded_by")
    readonly_fields = (
        "case",
        "comment",
        "original_name",
        "sha256",
        "key",
        "size_bytes",
        "declared_type",
        "sniffed_type",
        "scan_status",
        "scanner",
        "scan_detail",
        "scanned_at",
        "uploaded_by",
        "uploaded_at",
    )
