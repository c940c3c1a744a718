"""Reads of intake's rows for pages and the API (no writes here)."""

from ingestion.models import UploadJob

UPLOADS_SHOWN = 100


def uploads_for(user, *, limit: int = UPLOADS_SHOWN) -> list[UploadJob]:
    """The newest upload jobs `user` may see (their own, or everyone's with ingestion.view_all_uploads)."""
    return list(UploadJob.objects.visible_to(user).select_related("uploaded_by").defer("content", "errors")[:limit])


def upload_for(user, job_id: int) -> UploadJob | None:
    """The upload job with this id if `user` may see it, else None."""
    return UploadJob.objects.visible_to(user).select_related("uploaded_by").defer("content").filter(pk=job_id).first()
