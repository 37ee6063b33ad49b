"""Upgrading to screening/0018: a policy a clinician set before "chosen" was recorded (other rules, or rules changed
since) counts as chosen; one still holding every default at its first rules is named on the home page."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ..factories import make_treatment

BEFORE, AFTER = [("screening", "0017_clinicians_add_screening_policies")], [("screening", "0018_policy_chosen_at")]


@pytest.mark.django_db(transaction=True)
def test_policies_set_before_the_upgrade_count_as_chosen_and_untouched_defaults_do_not():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    Policy = executor.loader.project_state(BEFORE).apps.get_model("screening", "ScreeningPolicy")

    def policy(slug, **fields):  # the treatment as booking's tables are now (this goes back in screening alone)
        treatment = make_treatment(slug, minutes=60, requires_screening=True)
        return Policy.objects.create(treatment_id=treatment.pk, **fields).pk

    untouched = policy("needling")
    shorter_wait = policy("rf-needling", isotretinoin_wait_months=3)
    changed_back = policy("pen-needling", rules_version=2)
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("screening", "ScreeningPolicy")
        chosen = dict(new.objects.values_list("pk", "chosen_at"))
        assert chosen[untouched] is None
        assert chosen[shorter_wait] is not None and chosen[changed_back] is not None
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
