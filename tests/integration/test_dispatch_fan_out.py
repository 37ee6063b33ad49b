"""Beat starts one dispatch pass; that pass starts enough siblings for every worker process to send."""

from unittest import mock

import pytest

from booking.tasks import dispatch_due_appointment_emails
from screening.tasks import dispatch_due_eligibility_reminders


@pytest.mark.django_db
@pytest.mark.parametrize("task", [dispatch_due_appointment_emails, dispatch_due_eligibility_reminders])
def test_the_pass_beat_starts_asks_for_siblings_and_siblings_ask_for_none(task, settings):
    settings.EMAIL_DISPATCH_PARALLEL = 3
    with mock.patch.object(task, "apply_async") as enqueue:
        task.run()
        assert enqueue.call_count == 2
        assert all(call.kwargs["kwargs"] == {"siblings": 0} for call in enqueue.call_args_list)
        enqueue.reset_mock()
        task.run(siblings=0)
        assert enqueue.call_count == 0
