"""Celery tasks run in the organisation of whatever queued them: the publisher sends its id in a header,
the worker restores it around the task."""

from celery import signals

HEADER = "finobs_organisation"


@signals.before_task_publish.connect
def _send_organisation(headers=None, **kwargs) -> None:
    from organisations.context import current_organisation

    organisation = current_organisation()
    if headers is not None and organisation is not None:
        headers[HEADER] = organisation.pk


@signals.task_prerun.connect
def _restore_organisation(task=None, **kwargs) -> None:
    if task is None or getattr(task.request, "is_eager", False):
        return  # an in-process task runs in its caller's context already
    organisation_id = getattr(task.request, HEADER, None)
    if organisation_id is None:
        return
    from organisations.context import activate
    from organisations.models import Organisation

    organisation = Organisation.objects.filter(pk=organisation_id).first()
    task.request._finobs_organisation_token = activate(organisation)


@signals.task_postrun.connect
def _leave_organisation(task=None, **kwargs) -> None:
    token = getattr(getattr(task, "request", None), "_finobs_organisation_token", None)
    if token is not None:
        from organisations.context import deactivate

        task.request._finobs_organisation_token = None
        deactivate(token)
