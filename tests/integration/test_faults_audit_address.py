"""The audit log records where a staff member really was: X-Forwarded-For counts only as far as our own proxies
vouch for it (TRUSTED_PROXY_COUNT), as for throttling and sign-in lockout, so a client cannot forge the address."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry

from booking.models import TimeOff

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def time_off(nurse):
    return TimeOff.objects.create(
        practitioner=nurse,
        start=datetime(2026, 3, 3, 13, tzinfo=LONDON),
        end=datetime(2026, 3, 3, 17, tzinfo=LONDON),
    )


def delete_in_admin(admin_client, time_off, **headers):
    response = admin_client.post(f"/admin/booking/timeoff/{time_off.pk}/delete/", {"post": "yes"}, **headers)
    assert response.status_code == 302
    assert not TimeOff.objects.filter(pk=time_off.pk).exists()
    return LogEntry.objects.get_for_object(time_off).get(action=LogEntry.Action.DELETE)


def test_a_forged_forwarded_for_without_trusted_proxies_is_not_the_audited_address(admin_client, time_off, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    entry = delete_in_admin(
        admin_client,
        time_off,
        REMOTE_ADDR="198.51.100.4",
        HTTP_X_FORWARDED_FOR="6.6.6.6",
        HTTP_X_FORWARDED_PORT="4444",
    )
    assert entry.actor.is_superuser
    assert (entry.remote_addr, entry.remote_port) == ("198.51.100.4", None)


def test_behind_one_proxy_the_audited_address_is_the_one_the_proxy_appended(admin_client, time_off, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    entry = delete_in_admin(admin_client, time_off, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert entry.remote_addr == "203.0.113.9"


def test_a_forwarded_for_that_is_not_an_address_neither_breaks_the_staff_action_nor_reaches_the_log(
    admin_client, time_off, settings
):
    """On PostgreSQL the address column is `inet`: the stock middleware's copy of the header made the save fail."""
    settings.TRUSTED_PROXY_COUNT = 0
    entry = delete_in_admin(admin_client, time_off, REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR="<script>")
    assert entry.remote_addr == "198.51.100.4"
