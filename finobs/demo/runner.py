"""Runs the demo's steps for each demo organisation, replaying the month on the first run only."""

from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta

from django.test.utils import override_settings
from django.utils import timezone

from finobs.demo import (
    DEMO_SOURCE,
    Demo,
    casefiles,
    casework,
    exports,
    history,
    integrations,
    investigations,
    monitoring,
    notifications,
    people,
)
from finobs.demo.clock import Clock
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.models import ModelVersion, Transaction
from scoring.services import model_install_default


def champion(demo: Demo) -> str | None:
    """The organisation's champion: the shipped default model (a new organisation gets it when created)."""
    if ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exists():
        return None
    version = model_install_default(actor="demo")
    return f"  Champion: the default model, v{version.version}."


# In order. Steps before `history.history` may schedule work inside the month (demo.at); see finobs.demo.
STEPS: list[Callable[[Demo], str | None]] = [
    people.people,
    people.teams,
    champion,
    people.api_key,
    monitoring.drift_checks,
    monitoring.challenger,
    integrations.callbacks,
    integrations.pull_source,
    integrations.upload,
    casework.waiting_for_you,
    casefiles.attachments,
    investigations.investigations,
    exports.exports,
    notifications.notifications,
    history.history,
]

# The demo's partner server (pull source and callback receiver) listens on this machine: the SSRF guards
# allow it for the demo's own requests only, not for the server's.
LOCAL_PARTNER = {"CALLBACK_ALLOW_PRIVATE": True, "PULL_ALLOW_PRIVATE": True}
# The demo's people are made up (@demo.finobs): the emails their notifications send while the month is made
# stay in memory, neither printed among the demo's output (the console backend) nor sent (SMTP).
DEMO_EMAIL = {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


DEFAULT_ACCOUNTS = 150
DEFAULT_DAYS = 30
DEFAULT_SEED = 2026


def _has_history(organisation: Organisation) -> bool:
    with organisation_context(organisation):
        return Transaction.objects.filter(source=DEMO_SOURCE).exists()


def tasks_in_process():
    """The demo's background work (relays, callbacks, uploads, retraining, exports) runs inside the step that
    asks for it, also when a broker is configured and also the long jobs the embedded default gives to a
    background thread: the month is complete when the demo ends, and the replay's clock is the one its tasks
    read. Through the settings, which the Celery app and kernel.background read on each use: assigning the
    app's conf would outlive the demo."""
    return override_settings(CELERY_TASK_ALWAYS_EAGER=True, BACKGROUND_TASKS_INLINE=True)


def run_demo(
    *,
    write: Callable[[str], None],
    accounts: int = DEFAULT_ACCOUNTS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
) -> list[Demo]:
    """Set up (first run) or bring up to date (passwords, API key) the demo organisations; returns their runs."""
    end = timezone.now()
    passwords = people.new_passwords(
        ["platform", *(name for _, _, prefix, _ in people.DEMO_ORGANISATIONS for name in people.usernames(prefix))]
    )
    _, password, _ = people.person("platform", role="platform", organisation=None, password=passwords["platform"])
    write(f"Platform staff: platform  password {password:<18} {people.ROLE_SUMMARY['platform']}")
    demos = []
    for slug, name, prefix, offset in people.DEMO_ORGANISATIONS:
        found = Organisation.objects.filter(slug=slug).first()
        is_new = found is None or not _has_history(found)
        demo = Demo(organisation=found, prefix=prefix, seed=seed + offset, days=days, end=end, write=write,
                    accounts=accounts if not offset else max(accounts // 2, 20), is_new=is_new,
                    is_showcase=not offset, new_passwords=passwords)  # fmt: skip
        # On the first run the organisation, its people and its month happen in the past, in time order.
        clock = Clock(start=demo.start - timedelta(hours=1), end=end) if is_new else nullcontext()
        with clock, override_settings(**LOCAL_PARTNER, **DEMO_EMAIL), tasks_in_process():
            demo.clock = clock if is_new else None
            demo.organisation = people.organisation(slug, name)
            write(f"{name} ({slug}):")
            with organisation_context(demo.organisation):
                try:
                    for step in STEPS:
                        if line := step(demo):
                            write(line)
                finally:
                    for finish in reversed(demo.on_finish):
                        finish()
        demos.append(demo)
    return demos
