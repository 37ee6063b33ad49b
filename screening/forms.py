"""The screening questionnaire and the reminder opt-in: input shape and clear messages, no decisions."""

from datetime import date

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout, Submit
from django import forms

from . import rules
from .models import Contraindication, Screening, ScreeningPolicy

YES_NO = [("yes", "Yes"), ("no", "No")]
# Isotretinoin was first marketed in 1982; a course ending more than this far ahead is surely a typo.
MAX_COURSE_YEARS_AHEAD = 3
QUESTION_PREFIX = "q_"
# Said both for text that is no date and for a day the month does not have (30 February).
DATE_INVALID = "Please enter a real date, as day, month and year."

BRANDS = ", ".join(rules.BRAND_NAMES)
# The column's length (254), not the form field's default (320): a longer address must be a form error, not a
# database one.
EMAIL_MAX_LENGTH = Screening._meta.get_field("email").max_length


def _yes_no(label, *, help_text="", required_message):
    return forms.ChoiceField(
        label=label,
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
        help_text=help_text,
        error_messages={"invalid_choice": required_message},
    )


class ScreeningForm(forms.Form):
    """The questions in front of a screened treatment; the ones that do not apply are shown only when they do.

    The page works without JavaScript (every question shows), so the server decides what applies and
    validates it whatever the browser sent.
    """

    email = forms.EmailField(
        label="Your email",
        max_length=EMAIL_MAX_LENGTH,
        help_text="Use the same email when you book. We only use it for this booking and any reminder you ask for.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Please enter your email address.",
            "invalid": "Please enter a valid email.",
            "max_length": f"Please enter an email address of at most {EMAIL_MAX_LENGTH} characters.",
        },
    )
    taking_isotretinoin = _yes_no(
        "Are you taking isotretinoin now?",
        help_text=f"Isotretinoin is an acne tablet. Brand names include {BRANDS}.",
        required_message="Please answer Yes or No.",
    )
    course_end = forms.DateField(
        label="When is your course expected to end?",
        required=False,
        help_text="Leave this empty if you do not know.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_INVALID},
    )
    isotretinoin_recently = _yes_no(
        "Have you taken isotretinoin in the last 12 months?",
        required_message="Please answer Yes or No.",
    )
    last_dose = forms.DateField(
        label="Date of your last dose",
        required=False,
        help_text="An approximate date is fine if you tick “not sure” below.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_INVALID},
    )
    last_dose_unsure = forms.BooleanField(label="I’m not sure of the date", required=False)

    def __init__(self, *args, questions: list[Contraindication], policy: ScreeningPolicy, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.policy = policy
        self.today = today
        window = policy.recent_dose_window_months
        self.fields["isotretinoin_recently"].label = f"Have you taken isotretinoin in the last {window} months?"
        self.fields["last_dose"].widget.attrs.update({"max": today.isoformat()})
        for question in questions:
            self.fields[QUESTION_PREFIX + question.key] = _yes_no(
                question.question, help_text=question.help_text, required_message="Please answer Yes or No."
            )
        self.helper = FormHelper()
        self.helper.attrs = {"novalidate": "", "id": "screening-form"}
        self.helper.layout = Layout(
            "email",
            Fieldset(
                "Isotretinoin (acne tablets)",
                InlineRadios("taking_isotretinoin"),
                Div("course_end", data_show_when="taking_isotretinoin=yes"),
                Div(
                    InlineRadios("isotretinoin_recently"),
                    Div("last_dose", "last_dose_unsure", data_show_when="isotretinoin_recently=yes"),
                    data_show_when="taking_isotretinoin=no",
                ),
            ),
            Fieldset(
                "Your skin and health",
                *[InlineRadios(QUESTION_PREFIX + q.key) for q in questions],
            ),
            HTML('<p class="small text-body-secondary">Your answers are seen only by the clinic’s clinicians.</p>'),
            Submit("submit", "Continue", css_class="btn-lg"),
        )

    def _required_yes_no(self, name: str, message: str) -> bool | None:
        value = self.cleaned_data.get(name)
        if value not in ("yes", "no"):
            if name not in self.errors:
                self.add_error(name, message)
            return None
        return value == "yes"

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        today, window = self.today, self.policy.recent_dose_window_months
        taking = self._required_yes_no("taking_isotretinoin", "Please say whether you are taking isotretinoin now.")
        recently = False
        if taking is False:
            recently = self._required_yes_no(
                "isotretinoin_recently", f"Please say whether you have taken isotretinoin in the last {window} months."
            )
        last_dose = cleaned.get("last_dose")
        unsure = bool(cleaned.get("last_dose_unsure"))
        course_end = cleaned.get("course_end") if taking else None

        if last_dose is not None:
            if last_dose > today:
                self.add_error("last_dose", "The date of your last dose cannot be in the future.")
            elif last_dose < rules.add_months(today, -window):
                self.add_error(
                    "last_dose",
                    f"That is more than {window} months ago. Please check the year, or answer “No” above if your "
                    f"last dose was longer ago than that.",
                )
            elif taking is False and recently is False:
                self.add_error(
                    "last_dose",
                    f"You said you have not taken isotretinoin in the last {window} months but gave a date for your "
                    "last dose. Please check your answers.",
                )
        elif taking is False and recently is False and unsure:
            # The page hides the box after "No"; without scripts it shows, and a tick there contradicts the "No".
            self.add_error(
                "last_dose_unsure",
                f"You said you have not taken isotretinoin in the last {window} months but ticked that you are not "
                "sure of the date of your last dose. Please check your answers.",
            )
        elif recently and not unsure and "last_dose" not in self.errors:
            # A date that is not one (30 February) has its own message already; "please give a date" is untrue.
            self.add_error("last_dose", "Please give the date of your last dose, or tick “I’m not sure of the date”.")

        if course_end is not None:
            if last_dose is not None and course_end < last_dose:
                self.add_error("course_end", "The end of your course cannot be before your last dose.")
            elif course_end < today:
                self.add_error(
                    "course_end",
                    "The expected end of your course cannot be in the past. If you have stopped taking it, "
                    "answer “No” and give the date of your last dose.",
                )
            elif course_end > rules.add_months(today, 12 * MAX_COURSE_YEARS_AHEAD):
                self.add_error("course_end", "Please check the year of the expected end of your course.")

        answered = {}
        for question in self.questions:
            name = QUESTION_PREFIX + question.key
            answer = self._required_yes_no(name, "Please answer Yes or No.")
            if answer is not None:
                answered[question.key] = answer
        cleaned["_answers"] = None
        if not self.errors:
            cleaned["_answers"] = rules.Answers(
                taking_isotretinoin=bool(taking),
                isotretinoin_recently=bool(recently),
                last_dose=last_dose,
                last_dose_unsure=unsure and not taking,
                course_end=course_end,
                yes_to=frozenset(key for key, yes in answered.items() if yes),
                answered=frozenset(answered),
            )
        return cleaned

    @property
    def answers(self) -> rules.Answers:
        return self.cleaned_data["_answers"]


class ReminderForm(forms.Form):
    """An explicit opt-in: nothing is sent unless the box is ticked."""

    consent = forms.BooleanField(
        label="Yes, email me when I can book",
        error_messages={"required": "Please tick the box if you would like the email."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
