"""Champion/challenger experiments: start, stop, and the arms' results (chi-squared on flag rate and precision)."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from audit.services import audit_log
from kernel.errors import Conflict
from kernel.events import publish
from scoring.arms import ARM_CHALLENGER, ARM_CHAMPION, chi_squared
from scoring.models import Decision, Experiment, Label, ModelVersion


def experiment_start(*, challenger: ModelVersion, challenger_share: float, name: str, actor) -> Experiment:
    if not 0 < challenger_share < 1:
        raise ValidationError(
            {"challenger_share": "challenger_share must be between 0 and 1 (exclusive)."}, code="invalid_share"
        )
    if challenger.status not in (ModelVersion.Status.CANDIDATE, ModelVersion.Status.CHALLENGER):
        raise Conflict(f"v{challenger.version} is {challenger.status}, not a candidate.", code="not_a_candidate")
    with transaction.atomic():
        champion = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).only("id", "version").first()
        if champion is None:
            raise Conflict("There is no champion to compare with.", code="no_champion")
        try:
            with transaction.atomic():
                experiment = Experiment.objects.create(
                    name=name or f"v{champion.version} vs v{challenger.version}",
                    champion=champion,
                    challenger=challenger,
                    challenger_share=challenger_share,
                    salt=secrets.token_hex(8),
                    started_at=timezone.now(),
                    started_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError:
            raise Conflict("Stop the running experiment first.", code="experiment_running") from None
        ModelVersion.objects.filter(pk=challenger.pk).update(status=ModelVersion.Status.CHALLENGER)
        payload = {"experiment_id": experiment.pk, "champion": champion.version, "challenger": challenger.version,
                   "challenger_share": challenger_share}  # fmt: skip
        audit_log(actor=actor, action="experiment.started", object_type="scoring.Experiment", object_id=experiment.pk,
                  payload=payload)  # fmt: skip
        publish("experiment.started", payload)
    return experiment


def experiment_stop(*, experiment: Experiment, actor) -> Experiment:
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if not experiment.is_active:
            raise Conflict("This experiment has already ended.", code="not_running")
        experiment.is_active, experiment.ended_at = False, timezone.now()
        experiment.save(update_fields=["is_active", "ended_at"])
        ModelVersion.objects.filter(pk=experiment.challenger_id, status=ModelVersion.Status.CHALLENGER).update(
            status=ModelVersion.Status.CANDIDATE
        )
        payload = {"experiment_id": experiment.pk, "results": experiment_results(experiment=experiment)}
        audit_log(actor=actor, action="experiment.stopped", object_type="scoring.Experiment", object_id=experiment.pk,
                  payload=payload)  # fmt: skip
        publish("experiment.stopped", payload)
    return experiment


def experiment_results(*, experiment: Experiment) -> dict:
    """Per arm: decisions, flagged, flag rate, labelled flagged and precision; chi-squared tests between arms."""
    decisions = Decision.objects.filter(created_at__gte=experiment.started_at, arm__in=[ARM_CHAMPION, ARM_CHALLENGER])
    if experiment.ended_at:
        decisions = decisions.filter(created_at__lte=experiment.ended_at)
    rows = {
        r["arm"]: r
        for r in decisions.values("arm").annotate(
            total=Count("pk"),
            n_flagged=Count("pk", filter=Q(flagged=True)),
            flagged_fraud=Count("pk", filter=Q(flagged=True, transaction__label=Label.FRAUD)),
            flagged_legit=Count("pk", filter=Q(flagged=True, transaction__label=Label.LEGIT)),
        )
    }
    arms = {}
    for arm in (ARM_CHAMPION, ARM_CHALLENGER):
        r = rows.get(arm, {"total": 0, "n_flagged": 0, "flagged_fraud": 0, "flagged_legit": 0})
        labelled = r["flagged_fraud"] + r["flagged_legit"]
        arms[arm] = {
            "decisions": r["total"],
            "flagged": r["n_flagged"],
            "flag_rate": round(r["n_flagged"] / r["total"], 4) if r["total"] else None,
            "flagged_labelled": labelled,
            "precision": round(r["flagged_fraud"] / labelled, 4) if labelled else None,
        }
    champion, challenger = rows.get(ARM_CHAMPION, {}), rows.get(ARM_CHALLENGER, {})

    def row(r, a, b):
        return [r.get(a, 0), r.get(b, 0)]

    flag_table = [
        [champion.get("n_flagged", 0), champion.get("total", 0) - champion.get("n_flagged", 0)],
        [challenger.get("n_flagged", 0), challenger.get("total", 0) - challenger.get("n_flagged", 0)],
    ]
    precision_table = [
        row(champion, "flagged_fraud", "flagged_legit"),
        row(challenger, "flagged_fraud", "flagged_legit"),
    ]
    return {
        "arms": arms,
        "flag_rate_test": chi_squared(flag_table),
        "precision_test": chi_squared(precision_table),
    }
