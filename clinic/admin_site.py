"""The staff admin site: django-otp's two-factor admin, with a switch to turn two-factor off for the demo."""

import math
import time
from datetime import MAXYEAR, MINYEAR, date
from functools import cache

from axes.helpers import get_cool_off
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters, ModelAdmin, TabularInline
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_out, user_login_failed
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import BaseInlineFormSet
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.text import capfirst
from django.utils.timezone import get_current_timezone, is_aware, make_aware
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.forms import otp_verification_failed


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


# What django-otp's throttle keeps on a device (ThrottlingMixin): put back on a device a code was tried on in vain
# when another of the staff member's devices accepted it.
THROTTLE_FIELDS = ("throttling_failure_timestamp", "throttling_failure_count")


def device_accepting(user, token: str):
    """Return the user's confirmed device that accepts `token`, trying each in turn (as django_otp.match_token
    does), or None. A device tried before the one that accepted it keeps the throttle it had: the code was meant
    for the other one, not a wrong guess at it."""
    tried = []
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            throttle = {name: getattr(device, name) for name in THROTTLE_FIELDS if hasattr(device, name)}
            if device.verify_token(token):
                for earlier, state in tried:
                    for name, value in state.items():
                        setattr(earlier, name, value)
                    earlier.save(update_fields=list(state))
                return device
            if throttle:
                tried.append((device, throttle))
    return None


class TwoFactorSignInForm(_UsernameLengthChecked, OTPAdminAuthenticationForm):
    """Username, password and the code from the staff member's authenticator app, in one go.

    django-otp (since 1.7) asks which device a code is from before it checks it, which showed every staff member a
    "Please select a device." error and a device list first; here the code is tried on each of their devices.
    """

    otp_device = None  # no device list and no challenge button: TOTP and backup codes need neither
    otp_challenge = None
    otp_token = forms.CharField(
        label="Code from your authenticator app",
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "inputmode": "numeric", "required": True}
        ),
    )
    # One message for every way a sign-in fails: one that differed once the password was right (a wrong code, no
    # code, no authenticator yet) would tell a guesser the password without the second factor.
    SIGN_IN_FAILED = (
        "Please enter a correct username, password and code from your authenticator app. After a wrong code, wait "
        "a minute before the next one. No authenticator yet? Ask a colleague with admin access to set one up."
    )
    error_messages = {**OTPAdminAuthenticationForm.error_messages, "invalid_login": SIGN_IN_FAILED}
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        **dict.fromkeys(("token_required", "invalid_token", "throttled", "no_device"), SIGN_IN_FAILED),
    }

    def clean_otp(self, user):
        if user is None:
            return  # the username or password was wrong, and said so
        user.otp_device = None
        token = (self.cleaned_data.get("otp_token") or "").strip()
        if not token:
            raise forms.ValidationError(self.otp_error_messages["token_required"], code="token_required")
        devices = list(devices_for_user(user))
        if not devices:
            raise forms.ValidationError(self.otp_error_messages["no_device"], code="no_device")
        # django-otp makes a device wait longer after each wrong code; one that is waiting accepts no code yet.
        waiting = all(not device.verify_is_allowed()[0] for device in devices)
        user.otp_device = device_accepting(user, token)
        if user.otp_device is None:
            otp_verification_failed.send(sender=self.__class__, user=user)
            # A wrong code is a failed sign-in like a wrong password: django-axes counts it towards the lockout.
            user_login_failed.send(
                sender=__name__, credentials={"username": self.cleaned_data.get("username")}, request=self.request
            )
            code = "throttled" if waiting else "invalid_token"
            raise forms.ValidationError(self.otp_error_messages[code], code=code)


# The years a list's date navigation goes to. Django bounds a year by the next one, a month by the next month and a
# day by the next day, in the clinic's time zone: at the calendar's first and last years that bound (or its UTC
# equivalent) does not exist, and the list was a 500.
FIRST_NAVIGABLE_YEAR, LAST_NAVIGABLE_YEAR = MINYEAR + 1, MAXYEAR - 1


def check_date_navigation(params: dict[str, list[str]], field: str) -> None:
    """Raise IncorrectLookupParameters for a year, month or day in a list's date navigation that is no date the
    list can narrow to: not a number, out of the calendar (30 February, month 13) or in its first or last year."""
    if f"{field}__year" not in params:
        return  # no navigation: a month or day alone is an ordinary filter, which the admin checks itself
    try:
        # Django reads the last value of each, as here.
        year, month, day = (int(params.get(f"{field}__{part}", ["1"])[-1]) for part in ("year", "month", "day"))
        if not FIRST_NAVIGABLE_YEAR <= year <= LAST_NAVIGABLE_YEAR:
            raise ValueError(f"year {year} is outside {FIRST_NAVIGABLE_YEAR}-{LAST_NAVIGABLE_YEAR}")
        date(year, month, day)
    except (ValueError, OverflowError) as error:
        raise IncorrectLookupParameters(error) from error


# The parts of a date or time a filter can pick out ("?created_at__year=2026", "?start__iso_week_day=1"), each with
# the values it can have. Django turns a year into the first and last moment of that year in the clinic's time zone
# (and in UTC): for a year at or beyond the calendar's ends that moment does not exist, and the list was a 500.
DATE_PARTS = {
    "year": (FIRST_NAVIGABLE_YEAR, LAST_NAVIGABLE_YEAR),
    "iso_year": (FIRST_NAVIGABLE_YEAR, LAST_NAVIGABLE_YEAR),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}


def column_at_end(model, lookup: str):
    """Follow a filter or search path from `model` through its relations to the column it ends on: (the options of
    that column's model, the column, the transforms and lookup after it), or None for a path that names no column
    (a missing field, or one ending on a relation)."""
    opts, parts = model._meta, lookup.split(LOOKUP_SEP)
    for index, part in enumerate(parts):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return None
        if not getattr(field, "path_infos", None):
            return opts, field, parts[index + 1 :]
        opts = field.path_infos[-1].to_opts
    return None


def date_part_filtered(model, lookup: str) -> str | None:
    """The part of a date a filter path from `model` picks out ("appointment__start__year__gte": "year"), if any."""
    found = column_at_end(model, lookup)
    if found is None or not isinstance(found[1], models.DateField | models.TimeField):  # DateTimeField: a DateField
        return None
    # What follows the column are transforms and a lookup: "date", "year", "gte", ...
    return next((rest for rest in found[2] if rest in DATE_PARTS), None)


def check_date_parts(model, params: dict[str, list[str]]) -> None:
    """Raise IncorrectLookupParameters for a filter on a part of a date (year, month, ..., on any date or time
    column, through relations too) whose value is not a whole number that part can be, and for any "__range"."""
    for lookup, values in params.items():
        if lookup.endswith(f"{LOOKUP_SEP}range"):
            # A link gives one value where a range needs two: Django's SQL for it failed on any column (a 500).
            raise IncorrectLookupParameters(f"{lookup}: a range cannot be given in a link")
        part = date_part_filtered(model, lookup)
        if part is None or lookup.endswith(f"{LOOKUP_SEP}isnull"):
            continue
        low, high = DATE_PARTS[part]
        # Django filters on every value given for a name, and splits "__in" values at commas.
        for value in (v for each in values for v in (each.split(",") if lookup.endswith("__in") else [each])):
            try:
                number = int(value)
            except ValueError as error:
                raise IncorrectLookupParameters(f"{lookup}: {value!r} is not a number") from error
            if not low <= number <= high:
                raise IncorrectLookupParameters(f"{lookup}: {number} is outside {low}-{high}")


class DateNavigationChecked:
    """A changelist that answers a date navigation link it cannot follow, or any filter on a part of a date that no
    date has, as the admin answers any filter it cannot apply (IncorrectLookupParameters: back to the whole list,
    "?e=1"), not with a 500."""

    def get_filters(self, request):
        check_date_parts(self.model, self.filter_params)
        if self.date_hierarchy:
            check_date_navigation(self.filter_params, self.date_hierarchy)
        return super().get_filters(request)


@cache
def _date_navigation_checked(changelist_class: type) -> type:
    return type(changelist_class.__name__, (DateNavigationChecked, changelist_class), {})


class DateNavigationCheckedAdmin:
    """Given to every ModelAdmin registered on the clinic's site (ours and the libraries', the audit log's too)."""

    def get_changelist(self, request, **kwargs):
        return _date_navigation_checked(super().get_changelist(request, **kwargs))


HEALTH_DATA_PERMISSION = "screening.view_health_answers"
# Columns that may hold health data, by the model that stores them: a change page shows them only to staff with
# HEALTH_DATA_PERMISSION (a clinician's decline reason may name an answer; the answers and the reasons drawn from
# them), so a list filter or search on them would tell anyone else what the page hides ("?status_reason__icontains=
# pregnant"), whichever list, proxy (the review queue) or relation it is reached through.
HEALTH_DATA_COLUMNS = {
    "booking.appointment": {"status_reason"},
    "screening.screening": {"answers", "reasons"},
}


def reaches_health_data(model, lookup: str) -> bool:
    """Whether a filter or search path from `model` ("screening__reasons__icontains") ends on a health column."""
    found = column_at_end(model, lookup)
    if found is None:
        return False  # no column: the admin answers that itself
    opts, column, _after = found
    return column.name in HEALTH_DATA_COLUMNS.get(opts.concrete_model._meta.label_lower, ())


class HealthDataLookupsRefusedAdmin:
    """Given to every ModelAdmin on the clinic's site: staff without HEALTH_DATA_PERMISSION cannot filter or search
    on a health column. The admin answers a refused filter as any it does not allow (400, the list unfiltered)."""

    def lookup_allowed(self, lookup, value, request=None):
        if reaches_health_data(self.model, lookup) and (
            request is None or not request.user.has_perm(HEALTH_DATA_PERMISSION)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if request.user.has_perm(HEALTH_DATA_PERMISSION):
            return fields
        return [name for name in fields if not reaches_health_data(self.model, name.lstrip("^=@"))]


def name_each_input(field, name: str, *, in_a_table: bool = False) -> None:
    """Give a form field's inputs an accessible name where Django's admin shows a label tied to none of them: the
    date and time halves of a split date/time, and (in a tabular inline) each cell, whose label is the column's
    header. axe counts an input without one as critical."""
    widget = getattr(field.widget, "widget", field.widget)  # inside the related-object "+" wrapper
    label = capfirst(name)
    if isinstance(widget, forms.MultiWidget):
        for part, which in zip(widget.widgets, ("date", "time"), strict=False):
            part.attrs.setdefault("aria-label", f"{label}: {which}")
    elif in_a_table:
        widget.attrs.setdefault("aria-label", label)


class InputsNamedAdmin:
    """Every input of an admin form has an accessible name (`name_each_input`)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            name_each_input(field, db_field.verbose_name, in_a_table=isinstance(self, TabularInline))
        return field


class InputsNamedInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.setdefault("aria-label", "Delete this row")


class InputsNamedTabularInline(InputsNamedAdmin, TabularInline):
    """A tabular inline whose every cell, the delete box too, has an accessible name."""

    formset = InputsNamedInlineFormSet


class QueryValuesCheckedAdmin:
    """Values a URL or a crafted post hands the admin are checked before Django uses them: a date and time to fill
    in on an add page ("?start=…"), which its split input cannot show unless it is one, and the ids an action is
    posted for, which the database cannot compare unless they are ids. What is not is left out, as an unknown
    parameter is: the page opens empty there, or the action says no items were selected."""

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if isinstance(field, models.DateTimeField) and isinstance(value, str):
                moment = _moment_or_none(value)
                if moment is None:
                    del initial[name]
                else:
                    initial[name] = moment
        return initial

    def response_action(self, request, queryset):
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        usable = [value for value in selected if _is_id_of(self.model, value)]
        if len(usable) != len(selected):
            request.POST = request.POST.copy()
            request.POST.setlist(ACTION_CHECKBOX_NAME, usable)
        return super().response_action(request, queryset)


def _moment_or_none(value: str):
    """An aware datetime from ISO text ("2026-03-03T10:00Z", or local "2026-03-03 10:00"), or None."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:  # well formed but no such date or time
        return None
    if moment is None:
        return None
    try:  # shown in the clinic's time: the first and last days of the calendar may have no such time
        return (moment if is_aware(moment) else make_aware(moment, get_current_timezone())).astimezone(
            get_current_timezone()
        )
    except (OverflowError, ValueError):
        return None


# Integer primary keys as every database here stores them (64-bit).
SMALLEST_ID, LARGEST_ID = -(2**63), 2**63 - 1


def _is_id_of(model, value: str) -> bool:
    pk = model._meta.pk
    try:
        python = pk.to_python(value)
    except ValidationError:
        return False
    if isinstance(pk, models.IntegerField):  # AutoField and BigAutoField are IntegerFields
        return SMALLEST_ID <= python <= LARGEST_ID
    return True


class ClinicModelAdmin(
    InputsNamedAdmin, HealthDataLookupsRefusedAdmin, DateNavigationCheckedAdmin, QueryValuesCheckedAdmin
):
    """What the clinic's site adds to every ModelAdmin registered on it (ours and the libraries')."""


# When this session's staff member was last active in the admin (seconds since the epoch), for STAFF_SESSION_MINUTES.
STAFF_SEEN_AT = "staff_seen_at"
# Written at most this often, not on every admin request.
STAFF_SEEN_EVERY_SECONDS = 60


def remember_when_staff_signed_in(sender, request, user, **kwargs) -> None:
    """`user_logged_in` receiver (connected in clinic.apps)."""
    if request is not None and hasattr(request, "session"):
        request.session[STAFF_SEEN_AT] = time.time()


def staff_idle_too_long(request) -> bool:
    """Whether the signed-in staff member has done nothing in the admin for STAFF_SESSION_MINUTES (or signed in
    before this was kept)."""
    seen = request.session.get(STAFF_SEEN_AT)
    return not isinstance(seen, int | float) or time.time() - seen > settings.STAFF_SESSION_MINUTES * 60


def staff_seen_now(request) -> None:
    if time.time() - request.session.get(STAFF_SEEN_AT, 0) >= STAFF_SEEN_EVERY_SECONDS:
        request.session[STAFF_SEEN_AT] = time.time()


def sign_staff_out(request) -> None:
    """End the staff sign-in only, as `logout` does but for flushing the session: whatever else this browser's
    session holds (a patient's screening, answered in another tab) stays."""
    user = request.user
    for key in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, DEVICE_ID_SESSION_KEY, STAFF_SEEN_AT):
        request.session.pop(key, None)
    request.session.cycle_key()
    user_logged_out.send(sender=user.__class__, request=request, user=user)
    request.user = AnonymousUser()


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
        return "admin/login_2fa.html" if staff_2fa_required() else None

    def has_permission(self, request):
        if request.user.is_authenticated:
            if staff_idle_too_long(request):
                sign_staff_out(request)  # the admin then asks them to sign in again, saying why
                minutes = settings.STAFF_SESSION_MINUTES
                messages.info(request, f"You were signed out after {minutes} minutes without activity. Please sign in.")
                return False
            staff_seen_now(request)
        if staff_2fa_required():
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Register as Django does, each ModelAdmin with date navigation that never ends in a 500 and no filter or
        search on health data for staff who may not see it (ClinicModelAdmin)."""
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, ClinicModelAdmin):
            admin_class = type(
                admin_class.__name__,
                (ClinicModelAdmin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout page: say plainly that sign-in is paused, and for how long."""
    cool_off = get_cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else None
    return render(request, "admin/locked_out.html", {"minutes": minutes}, status=429)
