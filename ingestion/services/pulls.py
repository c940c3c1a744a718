"""Pull sources: save and schedule them (django-celery-beat), run a pull page by page, back off on failure."""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from audit.services import audit_log
from ingestion.models import PullRun, PullSource
from ingestion.services.pipeline import ingest
from kernel.heartbeats import heartbeat, lost_worker_reason, resumes_exhausted_reason, stale_before
from kernel.outbound import UnsafeUrl, check_outbound_url, outbound_transport, request_deadline
from organisations.context import organisation_context

logger = logging.getLogger(__name__)

PULL_TASK = "ingestion.tasks.pull_source_run_task"
ITEM_ERRORS_KEPT = 50
MAX_SAME_HOST_REDIRECTS = 3
_MISSING = object()


class PullFailed(Exception):
    """A run cannot go on; the message is what the run history shows."""


# --- Saving, scheduling, deleting ------------------------------------------------------------------


def check_pull_source(source: PullSource) -> None:
    """Refuse a configuration that cannot work: an unsafe URL, or a cursor with nowhere to come from."""
    try:
        check_outbound_url(source.url, allow_private=settings.PULL_ALLOW_PRIVATE)
    except UnsafeUrl as exc:
        raise ValidationError({"url": str(exc)}) from None
    if source.cursor_param and not (source.next_cursor_path or source.cursor_field):
        raise ValidationError(
            {"cursor_param": "Say where the next cursor comes from: a next cursor path or a cursor field."}
        )
    if not isinstance(source.query_params, dict):
        raise ValidationError({"query_params": "Must be a JSON object of parameter names to values."})
    if source.auth_header_value and not source.auth_header_name:
        raise ValidationError({"auth_header_name": "Name the header the secret is sent in."})


def pull_source_save(*, source: PullSource, actor) -> PullSource:
    """Create or update a source and its beat schedule; a disabled source keeps a disabled schedule."""
    check_pull_source(source)
    created = source.pk is None
    with transaction.atomic():
        source.save()
        pull_source_schedule(source=source)
        audit_log(
            actor=actor,
            action="pull_source.created" if created else "pull_source.updated",
            object_type="pull_source",
            object_id=source.pk,
            payload={
                "name": source.name,
                "source": source.source,
                "url": source.url,
                "interval_s": source.interval_s,
                "is_enabled": source.is_enabled,
                "cursor": source.cursor,
            },
        )
    return source


def pull_source_schedule(*, source: PullSource) -> PeriodicTask:
    """The source's own PeriodicTask, created or brought in line with its interval and enabled flag."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=source.interval_s, period=IntervalSchedule.SECONDS)
    task, _ = PeriodicTask.objects.update_or_create(
        name=source.periodic_task_name,
        defaults={
            "task": PULL_TASK,
            "interval": interval,
            "args": json.dumps([source.pk]),
            "enabled": source.is_enabled,
            "description": f"Pull source {source.name!r} ({source.url})",
        },
    )
    return task


def pull_source_delete(*, source: PullSource, actor) -> None:
    with transaction.atomic():
        PeriodicTask.objects.filter(name=source.periodic_task_name).delete()
        audit_log(
            actor=actor,
            action="pull_source.deleted",
            object_type="pull_source",
            object_id=source.pk,
            payload={"name": source.name, "source": source.source},
        )
        source.delete()


def pull_source_reset_breaker(*, source: PullSource, actor) -> None:
    """Close the breaker by hand: the next scheduled run goes ahead."""
    with transaction.atomic():
        PullSource.objects.filter(pk=source.pk).update(consecutive_failures=0, backoff_until=None)
        audit_log(
            actor=actor,
            action="pull_source.breaker_reset",
            object_type="pull_source",
            object_id=source.pk,
            payload={"consecutive_failures": source.consecutive_failures},
        )
    source.refresh_from_db()


def pull_source_enqueue(*, source: PullSource, actor) -> None:
    """Ask a worker to run the source now (admin "Run now"); the run itself is audited."""
    from ingestion.tasks import pull_source_run_task

    audit_log(actor=actor, action="pull_source.run_requested", object_type="pull_source", object_id=source.pk)
    # robust: with the broker down the request is lost, not the page; the source's schedule runs it later.
    transaction.on_commit(lambda: pull_source_run_task.delay(source.pk), robust=True)


# --- Running ------------------------------------------------------------------------------------------


@dataclass
class _Page:
    records: list
    next_cursor: str | None
    # False when the response says it was the last page (its next cursor path is empty).
    has_more: bool


def pull_source_run(*, source: PullSource, resumes: int = 0) -> PullRun:
    """Pull the source from its stored cursor, page by page, through the one ingest pipeline.

    Skips (and records a skipped run) while the source backs off or another run holds it. The
    cursor is stored after each page, so a crash re-pulls at most one page, whose records then
    come back as duplicates. `resumes`: how many runs before this one in a row lost their worker (the
    stale-job sweep's count). Runs in the source's organisation.
    """
    with organisation_context(source.organisation):
        return _run(source, resumes)


def _run(source: PullSource, resumes: int = 0) -> PullRun:
    now = timezone.now()
    source.refresh_from_db()
    if source.backoff_until and source.backoff_until > now:
        return _skipped(
            source,
            f"Backing off after {source.consecutive_failures} failure(s) in a row until "
            f"{source.backoff_until:%Y-%m-%d %H:%M:%S} UTC.",
        )
    if not _claim(source, now):
        return _skipped(source, "Another run of this source is in progress.")
    run = PullRun.objects.create(
        pull_source=source, started_at=now, heartbeat_at=now, cursor_before=source.cursor, resumes=resumes
    )
    try:
        _pull_pages(source, run)
    except PullFailed as exc:
        _record_failure(source, run, str(exc))
    except Exception as exc:
        logger.exception("pull source %s: unexpected error", source.pk)
        _record_failure(source, run, f"Unexpected error: {type(exc).__name__}: {exc}")
    else:
        _record_success(source, run)
    finally:
        PullSource.objects.filter(pk=source.pk).update(running_since=None)
    return run


def _claim(source: PullSource, now) -> bool:
    """One conditional UPDATE: the run that sets running_since owns the source until it clears it."""
    stale = now - timedelta(seconds=settings.PULL_RUN_STALE_S)
    return bool(
        PullSource.objects.filter(pk=source.pk)
        .filter(Q(running_since__isnull=True) | Q(running_since__lt=stale))
        .update(running_since=now)
    )


def _skipped(source: PullSource, reason: str) -> PullRun:
    now = timezone.now()
    return PullRun.objects.create(
        pull_source=source,
        started_at=now,
        finished_at=now,
        status=PullRun.Status.SKIPPED,
        cursor_before=source.cursor,
        cursor_after=source.cursor,
        error=reason,
    )


def _pull_pages(source: PullSource, run: PullRun) -> None:
    cursor = source.cursor
    headers = {"Accept": "application/json"}
    if source.auth_header_name:
        headers[source.auth_header_name] = source.auth_header_value
    transport = outbound_transport(allow_private=settings.PULL_ALLOW_PRIVATE)
    with httpx.Client(
        timeout=settings.PULL_TIMEOUT_S, follow_redirects=False, headers=headers, transport=transport
    ) as client:
        for _ in range(source.max_pages_per_run):
            params = {str(k): str(v) for k, v in source.query_params.items()}
            if source.cursor_param and cursor:
                params[source.cursor_param] = cursor
            page = _parse_page(source, _fetch(client, source.url, params))
            run.pages += 1
            run.fetched += len(page.records)
            if not page.records:
                break
            _ingest_page(source, run, page.records, page_number=run.pages)
            advanced = bool(page.next_cursor) and page.next_cursor != cursor
            if advanced:
                PullSource.objects.filter(pk=source.pk).update(cursor=page.next_cursor)
                source.cursor = cursor = page.next_cursor
            run.cursor_after = cursor
            run.heartbeat_at = timezone.now()
            run.save(update_fields=[*_PROGRESS_FIELDS, "heartbeat_at"])
            if not (source.cursor_param and advanced and page.has_more):
                break
    run.cursor_after = cursor


_PROGRESS_FIELDS = ["pages", "fetched", "accepted", "duplicates", "invalid", "cursor_after", "item_errors"]


def _fetch(client: httpx.Client, url: str, params: dict | None) -> bytes:
    """GET one page within PULL_TIMEOUT_S in all, redirects included; redirects are followed only on the same
    host and never from https to http (the auth header would travel in clear). Every hop goes through the
    SSRF guard: the transport resolves its host when it connects and connects only to the addresses checked.
    """
    parts = urlsplit(url)
    host, scheme = parts.hostname, parts.scheme
    try:
        # In all, name lookups included: httpx's timeout is per phase and per read, a slow drip never trips it.
        with request_deadline(settings.PULL_TIMEOUT_S):
            for _ in range(MAX_SAME_HOST_REDIRECTS + 1):
                check_outbound_url(url, allow_private=settings.PULL_ALLOW_PRIVATE, resolve=False)
                with client.stream("GET", url, params=params) as response:
                    if response.is_redirect:
                        target = str(response.url.join(response.headers.get("location", "")))
                        if urlsplit(target).hostname != host:
                            raise PullFailed(f"Refused a redirect to another host: {target}")
                        if scheme == "https" and urlsplit(target).scheme != "https":
                            raise PullFailed(f"Refused a redirect from https to {target}")
                        url, params = target, None  # the target carries its own query
                        continue
                    if response.status_code >= 400:
                        raise PullFailed(f"HTTP {response.status_code} {response.reason_phrase} from {response.url}")
                    return _read_capped(response)
    except UnsafeUrl as exc:
        raise PullFailed(f"Refused to call {url}: {exc}") from None
    except httpx.TimeoutException:
        raise PullFailed(f"Timed out after {settings.PULL_TIMEOUT_S:g} s calling {url}") from None
    except httpx.HTTPError as exc:
        raise PullFailed(f"Request to {url} failed: {type(exc).__name__}: {exc}") from None
    raise PullFailed(f"More than {MAX_SAME_HOST_REDIRECTS} redirects from {url}")


def _read_capped(response: httpx.Response) -> bytes:
    limit = settings.PULL_MAX_RESPONSE_BYTES
    body = bytearray()
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > limit:
            raise PullFailed(f"The response is larger than {limit} bytes (PULL_MAX_RESPONSE_BYTES).")
    return bytes(body)


def _parse_page(source: PullSource, body: bytes) -> _Page:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PullFailed(f"The response is not valid JSON: {exc}") from None
    records = _dig(data, source.records_path)
    if records is _MISSING:
        raise PullFailed(f"The response has no {source.records_path!r} (records path).")
    if not isinstance(records, list):
        where = repr(source.records_path) if source.records_path else "The response body"
        raise PullFailed(f"{where} is a {type(records).__name__}, not a list of records.")
    next_cursor, has_more = None, True
    if source.next_cursor_path:
        found = _dig(data, source.next_cursor_path)
        if found is not _MISSING and found not in (None, ""):
            next_cursor = str(found)
        else:
            has_more = False
    if next_cursor is None and source.cursor_field and records and isinstance(records[-1], dict):
        found = records[-1].get(source.cursor_field)
        if found not in (None, ""):
            next_cursor = str(found)
    return _Page(records=records, next_cursor=next_cursor, has_more=has_more)


def _dig(data, path: str):
    """Follow a dotted path ("data.items", "result.0.rows") through objects and lists."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _ingest_page(source: PullSource, run: PullRun, records: list, *, page_number: int) -> None:
    size = settings.INGEST_MAX_BATCH
    for start in range(0, len(records), size):
        result = ingest(
            records[start : start + size], organisation=source.organisation, source=source.source, actor=source
        )
        heartbeat(PullRun, run.pk)  # a large page is several ingests: alive between them too
        run.accepted += result.accepted
        run.duplicates += len(result.duplicates)
        run.invalid += len(result.errors)
        room = ITEM_ERRORS_KEPT - len(run.item_errors)
        run.item_errors += [
            {"page": page_number, "index": start + e.index, "field": e.field, "message": e.message}
            for e in result.errors[: max(0, room)]
        ]


def _record_success(source: PullSource, run: PullRun) -> None:
    run.status = PullRun.Status.OK
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        PullSource.objects.filter(pk=source.pk).update(consecutive_failures=0, backoff_until=None)
        _audit_run(source, run)
    source.consecutive_failures, source.backoff_until = 0, None


def _record_failure(source: PullSource, run: PullRun, error: str) -> None:
    failures = source.consecutive_failures + 1
    if failures >= settings.PULL_BREAKER_THRESHOLD:
        wait_s = settings.PULL_BACKOFF_MAX_S
    else:
        wait_s = min(settings.PULL_BACKOFF_BASE_S * 2 ** (failures - 1), settings.PULL_BACKOFF_MAX_S)
    now = timezone.now()
    run.status = PullRun.Status.FAILED
    run.finished_at = now
    run.error = error
    run.cursor_after = source.cursor
    with transaction.atomic():
        run.save()
        PullSource.objects.filter(pk=source.pk).update(
            consecutive_failures=F("consecutive_failures") + 1, backoff_until=now + timedelta(seconds=wait_s)
        )
        _audit_run(source, run, extra={"consecutive_failures": failures, "backoff_s": wait_s})
    source.refresh_from_db()
    logger.warning("pull source %s failed (%d in a row, waiting %d s): %s", source.pk, failures, wait_s, error)


def _audit_run(source: PullSource, run: PullRun, extra: dict | None = None) -> None:
    audit_log(
        actor=source,
        action=f"pull.{run.status}",
        object_type="pull_source",
        object_id=source.pk,
        payload={
            "run": run.pk,
            "pages": run.pages,
            "fetched": run.fetched,
            "accepted": run.accepted,
            "duplicates": run.duplicates,
            "invalid": run.invalid,
            "cursor_before": run.cursor_before,
            "cursor_after": run.cursor_after,
            "error": run.error,
            **(extra or {}),
        },
    )


# --- Runs whose worker was lost -------------------------------------------------------------------


def pull_runs_sweep_stale() -> dict[str, int]:
    """Runs whose worker was lost (no heartbeat for JOB_STALE_AFTER_S) are closed as failed with the
    reason, their hold on the source released, and a new run queued at once: it continues from the stored
    cursor (the last page stored is at most pulled again, its records then duplicates). After
    JOB_MAX_RESUMES lost runs in a row the source is not run at once again: the loss counts as a failure
    of the source (its back-off), and its schedule goes on. Runs as system work, across organisations.

    Each run is claimed by one conditional UPDATE (still running, heartbeat still old): a run that beat
    in the meantime, or that another sweep closed, is left alone.
    """
    from ingestion.tasks import pull_source_run_task

    cutoff = stale_before()
    stale = PullRun.objects.filter(status=PullRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    counts = {"pull_runs_resumed": 0, "pull_runs_failed": 0}
    for run in list(stale.select_related("pull_source")):
        source = run.pull_source
        resume = run.resumes < settings.JOB_MAX_RESUMES
        reason = lost_worker_reason() + (
            " A new run continues from the stored cursor." if resume else f" {resumes_exhausted_reason(run.resumes)}"
        )
        now = timezone.now()
        with organisation_context(source.organisation), transaction.atomic():
            if not stale.filter(pk=run.pk).update(
                status=PullRun.Status.FAILED, finished_at=now, error=reason, cursor_after=source.cursor
            ):
                continue  # it beat since, or another sweep took it
            # Release the source only if this run still holds it (its claim is the run's start time).
            PullSource.objects.filter(pk=source.pk, running_since=run.started_at).update(running_since=None)
            if not resume:
                _back_off_after_lost_runs(source, now)
            run.refresh_from_db()
            _audit_run(source, run, extra={"lost_worker": True, "resumes": run.resumes})
        if not resume:
            counts["pull_runs_failed"] += 1
            continue
        try:
            pull_source_run_task.delay(source.pk, resumes=run.resumes + 1)
        except Exception:  # the broker is down: the source's schedule runs it when it is back
            logger.warning("pull source %s: could not queue a new run", source.pk, exc_info=True)
        counts["pull_runs_resumed"] += 1
    return counts


def _back_off_after_lost_runs(source: PullSource, now) -> None:
    failures = source.consecutive_failures + 1
    wait_s = (
        settings.PULL_BACKOFF_MAX_S
        if failures >= settings.PULL_BREAKER_THRESHOLD
        else min(settings.PULL_BACKOFF_BASE_S * 2 ** (failures - 1), settings.PULL_BACKOFF_MAX_S)
    )
    PullSource.objects.filter(pk=source.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, backoff_until=now + timedelta(seconds=wait_s)
    )
