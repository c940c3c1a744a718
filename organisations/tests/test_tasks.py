"""A Celery task runs in the organisation of whatever queued it, in a real worker as in-process."""

import threading

import pytest
from celery import shared_task

from conftest import wait_until
from organisations.context import current_organisation, organisation_context

pytestmark = pytest.mark.django_db(transaction=True)

_seen: list = []
_seen_lock = threading.Lock()


@shared_task(ignore_result=True)
def note_current_organisation(label: str) -> None:
    organisation = current_organisation()
    with _seen_lock:
        _seen.append((label, organisation.slug if organisation is not None else None))


@pytest.mark.redis
def test_a_worker_runs_each_task_in_the_organisation_that_queued_it(organisation, celery_worker_if_queued):
    _seen.clear()
    with organisation_context(organisation):
        note_current_organisation.delay("harbour's")
    note_current_organisation.delay("default's")  # the test runs in the default organisation
    with organisation_context(None):
        note_current_organisation.delay("platform work's")
    assert wait_until(lambda: len(_seen) == 3, timeout_s=30), _seen
    assert sorted(_seen) == [("default's", "default"), ("harbour's", "harbour"), ("platform work's", None)]


def test_an_in_process_task_runs_in_its_callers_organisation(organisation, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    _seen.clear()
    with organisation_context(organisation):
        note_current_organisation.apply(args=["eager"])
    assert _seen == [("eager", "harbour")]
