"""Staff sign-in: two-factor when switched on, and a clear lockout after repeated wrong passwords."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.admin_site import TwoFactorSignInForm

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def receptionist(db):
    return User.objects.create_user("reception", password=PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def authenticator(receptionist):
    return TOTPDevice.objects.create(user=receptionist, name="phone", confirmed=True)


SIGN_IN_FAILED = TwoFactorSignInForm.SIGN_IN_FAILED


def sign_in(client, username="reception", password=PASSWORD, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, **extra})


def current_code(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_with_two_factor_off_a_password_is_enough(client, receptionist):
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_with_two_factor_off_the_admin_client_of_other_tests_still_works(admin_client):
    assert admin_client.get("/admin/").status_code == 200


def test_with_two_factor_on_a_password_alone_does_not_open_the_admin(client, authenticator, settings):
    settings.STAFF_2FA_REQUIRED = True
    response = sign_in(client)
    assert response.status_code == 200
    assert 'name="otp_token"' in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_a_wrong_code_does_not_open_the_admin(client, authenticator, settings):
    settings.STAFF_2FA_REQUIRED = True
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"
    assert sign_in(client, otp_device=authenticator.persistent_id, otp_token=wrong).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_password_and_current_code_open_the_admin(client, authenticator, settings):
    settings.STAFF_2FA_REQUIRED = True
    response = sign_in(client, otp_device=authenticator.persistent_id, otp_token=current_code(authenticator))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_with_two_factor_on_one_device_signs_in_with_username_password_and_code_in_one_go(
    client, authenticator, settings
):
    settings.STAFF_2FA_REQUIRED = True
    page = client.get("/admin/login/?next=/admin/").content.decode()
    assert 'name="username"' in page and 'name="password"' in page and 'name="otp_token"' in page
    assert 'name="otp_device"' not in page and 'name="otp_challenge"' not in page
    response = sign_in(client, otp_token=current_code(authenticator))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_with_two_factor_on_a_wrong_code_says_so_and_offers_no_device_list(client, authenticator, settings):
    settings.STAFF_2FA_REQUIRED = True
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"
    response = sign_in(client, otp_token=wrong)
    page = response.content.decode()
    assert response.status_code == 200
    assert SIGN_IN_FAILED in page and "Please select a device" not in page
    assert 'name="otp_device"' not in page and 'name="otp_challenge"' not in page
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_no_code_asks_for_the_code(client, authenticator, settings):
    settings.STAFF_2FA_REQUIRED = True
    response = sign_in(client)
    assert SIGN_IN_FAILED in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_staff_without_an_authenticator_are_told_to_ask_for_one(client, receptionist, settings):
    settings.STAFF_2FA_REQUIRED = True
    response = sign_in(client, otp_token="123456")
    assert "No authenticator yet? Ask a colleague with admin access" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_with_several_devices_a_code_from_any_of_them_signs_in(client, receptionist, settings):
    settings.STAFF_2FA_REQUIRED = True
    old_phone = TOTPDevice.objects.create(user=receptionist, name="old phone", confirmed=True)
    new_phone = TOTPDevice.objects.create(user=receptionist, name="new phone", confirmed=True)
    backup = StaticDevice.objects.create(user=receptionist, name="backup codes", confirmed=True)
    backup.token_set.create(token="backup1234")
    unconfirmed = TOTPDevice.objects.create(user=receptionist, name="lost setup", confirmed=False)

    response = sign_in(client, otp_token=current_code(new_phone))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    # The code was for the new phone: the old phone and the backup codes are not throttled for it.
    for device in (old_phone, backup):
        device.refresh_from_db()
        assert device.throttling_failure_count == 0 and device.verify_is_allowed() == (True, None)

    client.logout()
    assert sign_in(client, otp_token="backup1234").status_code == 302
    assert not backup.token_set.exists()  # a backup code works once
    client.logout()
    # A device whose setup was never confirmed signs nobody in.
    assert sign_in(client, otp_token=current_code(unconfirmed)).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_a_session_without_a_verified_device_is_sent_to_sign_in(admin_client, settings):
    settings.STAFF_2FA_REQUIRED = True
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_a_staff_member_can_be_given_an_authenticator(receptionist, capsys):
    call_command("add_totp_device", "reception")
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=receptionist)
    assert device.confirmed
    assert "otpauth://totp/" in out and "reception" in out


def test_repeated_wrong_passwords_lock_sign_in_with_a_clear_message(client, receptionist, settings, clock):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, password="guess").status_code == 200
    locked = sign_in(client, password="guess")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-in attempts" in page and "try again in 30 minutes" in page
    # Even the right password waits out the lock.
    assert sign_in(client).status_code == 429
    clock.shift(timedelta(minutes=31))
    assert sign_in(client).status_code == 302


def test_staff_can_unlock_a_locked_out_colleague(client, receptionist, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, password="guess")
    assert sign_in(client).status_code == 429
    call_command("axes_reset_username", "reception")
    assert sign_in(client).status_code == 302


def test_with_two_factor_on_wrong_codes_lock_sign_in_as_wrong_passwords_do(client, authenticator, settings, clock):
    settings.STAFF_2FA_REQUIRED = True
    settings.AXES_ENABLED = True
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, otp_token=wrong).status_code == 200
        clock.shift(timedelta(minutes=1))  # past the device's own wait after a wrong code
    locked = sign_in(client, otp_token=wrong)
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.content.decode()
    assert sign_in(client, otp_token=current_code(authenticator)).status_code == 429
    assert client.get("/admin/").status_code == 302


def test_with_two_factor_on_a_right_code_too_soon_after_a_wrong_one_is_asked_for_again(
    client, authenticator, settings, clock
):
    settings.STAFF_2FA_REQUIRED = True
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"
    assert sign_in(client, otp_token=wrong).status_code == 200
    response = sign_in(client, otp_token=current_code(authenticator))
    assert "After a wrong code, wait a minute" in response.content.decode()
    clock.shift(timedelta(seconds=30))
    assert sign_in(client, otp_token=current_code(authenticator)).status_code == 302


def test_with_two_factor_on_a_right_password_tells_a_guesser_nothing_the_wrong_one_does_not(
    client, authenticator, settings
):
    settings.STAFF_2FA_REQUIRED = True
    wrong = f"{(int(current_code(authenticator)) + 1) % 1_000_000:06d}"
    pages = [
        sign_in(client, password=password, otp_token=code).content.decode()
        for password, code in ((PASSWORD, wrong), ("not-the-password", wrong), (PASSWORD, ""))
    ]
    assert all(SIGN_IN_FAILED in page for page in pages)


@pytest.mark.parametrize("two_factor", [False, True])
def test_the_sign_in_page_has_one_heading_for_screen_readers(client, settings, two_factor):
    settings.STAFF_2FA_REQUIRED = two_factor
    page = client.get("/admin/login/").content.decode()
    assert page.count("<h1") == 1 and "<h1>Staff sign in</h1>" in page
    assert ('name="otp_token"' in page) == two_factor


def test_staff_are_signed_out_after_staff_session_minutes_without_activity(client, receptionist, clock, settings):
    settings.STAFF_SESSION_MINUTES = 30
    assert sign_in(client).status_code == 302
    for _ in range(3):  # working on: 87 minutes after signing in, and still signed in
        clock.shift(29 * 60)
        assert client.get("/admin/").status_code == 200
    clock.shift(31 * 60)  # then half an hour away from the desk
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[0][0].startswith("/admin/login/")
    assert "You were signed out after 30 minutes without activity." in response.content.decode()
    assert "_auth_user_id" not in client.session  # signed out, not merely sent to the sign-in page


def test_signing_staff_out_keeps_a_patients_answers_in_the_same_browser(client, receptionist, clock, settings):
    from .screening_helpers import latest_screening, make_clinic, screen, token_of

    settings.STAFF_SESSION_MINUTES = 30
    make_clinic()
    sign_in(client)
    screen(client)  # reception answering for a caller, in another tab
    clock.shift(31 * 60)
    assert client.get("/admin/").status_code == 302  # the staff sign-in has ended...
    response = client.get("/book/microneedling/", {"screening": token_of(latest_screening())})
    assert "/book/microneedling/details/?start=" in response.content.decode()  # ...the caller's answers have not


def test_a_short_staff_session_does_not_cut_a_patients_booking_short(client, clock, settings):
    from .screening_helpers import latest_screening, make_clinic, screen, token_of

    settings.STAFF_SESSION_MINUTES = 5
    make_clinic()
    screen(client)
    clock.shift(6 * 60)  # well within the screening's two hours to book
    response = client.get("/book/microneedling/", {"screening": token_of(latest_screening())})
    assert response.status_code == 200 and "/book/microneedling/details/?start=" in response.content.decode()
