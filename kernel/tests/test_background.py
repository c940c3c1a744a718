"""Long jobs in the embedded default: the same Celery task, on a background thread, in the caller's
organisation; inside the caller when BACKGROUND_TASKS_INLINE asks; and the periodic stand-in for beat."""

import threading

import pytest
from celery import shared_task

from kernel.background import every, in_background, long_task_send, wait_idle
from organisations.context import current_organisation_id, organisation_context

pytestmark = pytest.mark.django_db(transaction=True)

seen: list[dict] = []


@shared_task
def note_where_it_runs(label: str) -> None:
    from organisations.models import Organisation

    seen.append(
        {
            "label": label,
            "organisation": current_organisation_id(),
            "thread": threading.get_ident(),
            "in_background": in_background(),
            "organisations": Organisation.objects.count(),  # a query, on the thread's own connection
        }
    )


@pytest.fixture(autouse=True)
def _nothing_seen():
    seen.clear()


def test_a_long_task_runs_on_the_background_thread_in_the_callers_organisation(settings, organisation):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default, also on the broker's run
    with organisation_context(organisation):
        long_task_send(note_where_it_runs, "theirs")
    long_task_send(note_where_it_runs, "ours")
    assert wait_idle()
    by_label = {s["label"]: s for s in seen}
    assert by_label["theirs"]["organisation"] == organisation.pk
    assert by_label["ours"]["organisation"] != organisation.pk
    assert all(s["in_background"] and s["thread"] != threading.get_ident() for s in seen)
    assert all(s["organisations"] >= 2 for s in seen)
    assert not in_background()


def test_inline_runs_it_in_the_caller(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.BACKGROUND_TASKS_INLINE = True
    long_task_send(note_where_it_runs, "inline")
    assert seen and seen[0]["thread"] == threading.get_ident() and not seen[0]["in_background"]


def test_every_calls_again_and_again_past_a_failure():
    calls = []
    twice = threading.Event()

    def sweep():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a database blip")
        twice.set()

    stop = every(0.01, sweep, name="test-sweep")
    try:
        assert twice.wait(10)
    finally:
        stop.set()
