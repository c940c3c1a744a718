"""The scoring configuration a batch reads (champion, active experiment, active rules): changes made by
any process reach the next batch."""

import pytest

from scoring.arms import ARM_CHALLENGER
from scoring.models import Experiment, Rule
from scoring.services import batch_score
from scoring.services.experiments import experiment_start
from scoring.tests.builders import copy_model_version, transaction

pytestmark = pytest.mark.django_db


def test_rule_changes_made_behind_the_orm_reach_the_next_batch(champion):
    sanctioned = [transaction(1, country="KP")]
    assert [hit["rule"] for hit in batch_score(transactions=sanctioned).rule_hits[0]]  # the default rules hit it
    Rule.objects.update(is_active=False)  # as another process would: no signal, no save()
    assert batch_score(transactions=sanctioned).rule_hits == [[]]
    Rule.objects.update(is_active=True)
    assert batch_score(transactions=sanctioned).rule_hits[0]


def test_an_experiment_started_and_stopped_reaches_the_next_batch(champion, make_user):
    batch = [transaction(i, account_id=f"acc-{i}") for i in range(60)]
    assert batch_score(transactions=batch).arms == []  # no experiment: no arms
    challenger = copy_model_version(champion)
    experiment_start(challenger=challenger, challenger_share=0.5, name="", actor=make_user("compliance"))
    assert ARM_CHALLENGER in batch_score(transactions=batch).arms
    Experiment.objects.update(is_active=False)
    assert batch_score(transactions=batch).arms == []  # no experiment: no arms
