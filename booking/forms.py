import re
import unicodedata
from datetime import UTC, date, datetime

from crispy_forms.bootstrap import StrictButton
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django import forms
from django.utils import timezone
from django.utils.choices import BaseChoiceIterator
from django.utils.formats import date_format

from .availability import Slot
from .models import Treatment
from .selectors import clinic_tz

SLOT_FORMAT = "%Y-%m-%dT%H:%MZ"
# Digits with the punctuation people write them with (07700 900123, +49 (0) 151 1234 5678, 06.12.34.56.78), up to
# what the appointment's column holds.
PHONE_MAX_LENGTH = 32
PHONE_PATTERN = re.compile(rf"^\+?[0-9 ().\-]{{7,{PHONE_MAX_LENGTH}}}$")
FEWEST_PHONE_DIGITS = 7  # punctuation alone ("-------") is no number to call
OLDEST_AGE_YEARS = 120
SLOT_YEARS = (2000, 9000)


def slot_value(start: datetime) -> str:
    """Encode a start time for a URL or form field: UTC, minute precision, no '+' to be mangled in a query.

    SLOT_FORMAT, written field by field: a 30-day availability answer writes 1,150 of them, which took 3.7 ms of CPU
    with strftime and take 2.4 so (the times availability makes are already in UTC)."""
    utc = start if start.tzinfo is UTC else start.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}Z"


def parse_slot_value(value: str) -> datetime | None:
    try:
        start = datetime.strptime(value, SLOT_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    # Years like 0001 or 9999 parse, but overflow once moved to the clinic's zone or a day is added: not a slot.
    return start if SLOT_YEARS[0] <= start.year <= SLOT_YEARS[1] else None


def check_date_of_birth(born: date, *, whose: str = "Your") -> date:
    """Refuse a date of birth that is not in the past, or too long ago to be anything but a mistyped year."""
    today = timezone.localdate()
    if born >= today:
        raise forms.ValidationError(f"{whose} date of birth must be in the past.")
    if today.year - born.year > OLDEST_AGE_YEARS:
        raise forms.ValidationError(f"Please check the year of {whose.lower()} date of birth.")
    return born


# Joiners shape the letters of some scripts (Persian, the Indic ones): a name may need them.
_JOINERS = "\u200c\u200d"


def check_name(name: str, *, whose: str = "your") -> str:
    """A name as it is written on letters: runs of spaces and line breaks made one space, without invisible
    characters (control codes, zero-width spaces, text-direction overrides that show it reversed in the diary), and
    with a letter in it."""
    name = "".join(c for c in name if c.isspace() or c in _JOINERS or unicodedata.category(c) not in ("Cc", "Cf"))
    name = " ".join(name.split())
    if not any(c.isalpha() for c in name):
        raise forms.ValidationError(f"Please enter {whose} name.")
    return name


def check_phone(phone: str) -> str:
    """A number reception can call back: digits with the usual spacing and punctuation, and enough of them."""
    phone = phone.strip()
    if not PHONE_PATTERN.match(phone) or sum(c.isdigit() for c in phone) < FEWEST_PHONE_DIGITS:
        raise forms.ValidationError("Please enter a phone number of digits, e.g. 07700 900123.")
    return phone


def slot_label(start: datetime) -> str:
    """The local clock time, 24-hour ("09:15"); strftime, as a day's worth of choices is built on every request."""
    return start.astimezone(clinic_tz()).strftime("%H:%M")


class SlotChoices(BaseChoiceIterator):
    """Free times as (value, label) choices, made only when iterated (validating, or showing them as choices; the
    details page usually does neither), and false when there are none."""

    def __init__(self, slots: list[Slot]):
        self.slots = slots

    def __iter__(self):
        for slot in self.slots:
            yield slot_value(slot.start), slot_label(slot.start)

    def __bool__(self) -> bool:
        return bool(self.slots)


class DayForm(forms.Form):
    """The day whose times a patient is looking at (a GET parameter)."""

    # A date box takes only ISO dates: the locale's 02/03/2026 would show it empty.
    date = forms.DateField(
        required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}), label="Day"
    )

    # Quoted: in the class body `date` is the field above, not the type.
    def __init__(self, *args, first_day: date, last_day: date, default_day: "date | None" = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_day, self.last_day = first_day, last_day
        # The day shown when none is asked for: `default_day` while it can be booked, else the first that can.
        self.default_day = default_day if default_day and first_day <= default_day <= last_day else first_day
        self.fields["date"].widget.attrs.update({"min": first_day.isoformat(), "max": last_day.isoformat()})
        self.fields["date"].initial = self.default_day  # the day shown, in the box too, when none was asked for

    def clean_date(self):
        day = self.cleaned_data["date"] or self.default_day
        if not self.first_day <= day <= self.last_day:
            raise forms.ValidationError(
                f"Please choose a day between {date_format(self.first_day, 'j F Y')} "
                f"and {date_format(self.last_day, 'j F Y')}."
            )
        return day


class SlotChoiceForm(forms.Form):
    """Pick one of the times currently free; the choices are rebuilt from fresh availability on every request."""

    start = forms.ChoiceField(label="Time", widget=forms.RadioSelect)

    def __init__(self, *args, slots: list[Slot], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start"].choices = SlotChoices(slots)
        self.fields["start"].error_messages["invalid_choice"] = (
            "That time is not available. Please choose one of the times shown."
        )
        self.fields["start"].error_messages["required"] = "Please choose a time."
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_start(self):
        return parse_slot_value(self.cleaned_data["start"])


class BookingForm(SlotChoiceForm):
    name = forms.CharField(
        label="Full name",
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Please enter your full name."},
    )
    # 254: what the appointment's column holds (a form EmailField would accept 320).
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Please enter your email address: we send your booking to it."},
    )
    phone = forms.CharField(
        label="Mobile phone",
        max_length=PHONE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text="We only call if we need to move your appointment.",
        error_messages={"required": "Please enter a phone number we can call you on."},
    )
    date_of_birth = forms.DateField(
        label="Date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        error_messages={"required": "Please enter your date of birth."},
    )

    def clean_name(self):
        return check_name(self.cleaned_data["name"])

    def clean_phone(self):
        return check_phone(self.cleaned_data["phone"])

    def clean_date_of_birth(self):
        return check_date_of_birth(self.cleaned_data["date_of_birth"])


class CancelForm(forms.Form):
    confirm = forms.BooleanField(
        label="Yes, cancel this appointment",
        error_messages={"required": "Tick the box to confirm that you want to cancel."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": ""}  # the error summary speaks, as on every other form
        # A button, not an input: its words wrap with large text on a phone instead of running off the screen.
        self.helper.layout = Layout(
            "confirm", StrictButton("Cancel appointment", type="submit", css_class="btn-danger")
        )


class StaffFreeTimesForm(forms.Form):
    """Which treatment, on which day, reception is looking for a free time for (GET parameters of the admin's
    "Find a free time" page). Staff book from today up to two years ahead, as the phone booking form allows."""

    treatment = forms.ModelChoiceField(queryset=None, empty_label="Choose a treatment")
    # A date input takes only ISO dates: in the locale's own (30/11/2026) the browser drops the day it opens on.
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, first_day: date, last_day: date, moving=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_day, self.last_day = first_day, last_day
        # New bookings are for active treatments; a booking being moved keeps its own, active or not.
        treatments = Treatment.objects.filter(active=True)
        self.fields["treatment"].queryset = (
            treatments if moving is None else Treatment.objects.filter(pk=moving.treatment_id)
        )
        self.fields["day"].widget.attrs.update({"min": first_day.isoformat(), "max": last_day.isoformat()})

    def clean_day(self):
        day = self.cleaned_data["day"]
        if not self.first_day <= day <= self.last_day:
            raise forms.ValidationError(
                f"Choose a day from today, {date_format(self.first_day, 'j F Y')}, to "
                f"{date_format(self.last_day, 'j F Y')}."
            )
        return day
