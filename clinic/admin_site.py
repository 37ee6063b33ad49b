"""The staff admin site: django-otp's two-factor admin, with a switch to turn two-factor off for the demo."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import AdminSite
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


def staff_2fa_required() -> bool:
    return settings.STAFF_2FA_REQUIRED


class _UsernameLengthChecked:
    """Django sizes the username box but never checks its length; an overlong one broke django-axes' log (500)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class SignInForm(_UsernameLengthChecked, AdminAuthenticationForm):
    pass


class TwoFactorSignInForm(_UsernameLengthChecked, OTPAdminAuthenticationForm):
    pass


class ClinicAdminSite(OTPAdminSite):
    """Admit staff verified by a TOTP (or backup) code when STAFF_2FA_REQUIRED is on; plain sign-in otherwise.

    The switch is read on every request, so tests can turn it on and off with the `settings` fixture.
    """

    site_header = "Clinic diary"
    site_title = "Clinic diary"
    index_title = "Diary, reviews and settings"

    def __init__(self, name="admin"):
        super().__init__(name)

    @property
    def login_form(self):
        return TwoFactorSignInForm if staff_2fa_required() else SignInForm

    @property
    def login_template(self):
        return OTPAdminSite.login_template if staff_2fa_required() else None

    def has_permission(self, request):
        if staff_2fa_required():
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout page: say plainly that sign-in is paused, and for how long."""
    cool_off = get_cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else None
    return render(request, "admin/locked_out.html", {"minutes": minutes}, status=429)
