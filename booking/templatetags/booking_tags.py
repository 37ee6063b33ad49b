from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from booking.selectors import clinic_tz

register = template.Library()

# Where a start time falls in the clinic's day, for grouping long lists of times on a phone.
PARTS_OF_DAY = (("Morning", 0), ("Afternoon", 12), ("Evening", 17))


@register.inclusion_tag("includes/steps.html")
def journey_steps(treatment, step):
    """Show the patient's progress; the screening step appears only for treatments that need it."""
    steps = [("treatment", "Treatment")]
    if treatment is not None and treatment.requires_screening:
        steps.append(("screening", "Health questions"))
    steps += [("time", "Time"), ("details", "Your details"), ("done", "Done")]
    keys = [key for key, _ in steps]
    current = keys.index(step) if step in keys else -1
    return {
        "steps": [
            {
                "key": key,
                "label": label,
                "number": number,
                "state": "done" if number - 1 < current else "current" if number - 1 == current else "todo",
            }
            for number, (key, label) in enumerate(steps, start=1)
        ],
        "step": step,
        "total": len(steps),
        "current_number": current + 1,
    }


@register.filter
def by_part_of_day(slot_links):
    """Group (slot, url) pairs into morning, afternoon and evening, by the clinic's local time."""
    tz = clinic_tz()
    groups: dict[str, list] = {}
    for slot, url in slot_links:
        hour = timezone.localtime(slot.start, tz).hour
        label = next(name for name, starts in reversed(PARTS_OF_DAY) if hour >= starts)
        groups.setdefault(label, []).append((slot, url))
    return list(groups.items())


@register.filter
def with_class(bound_field, css_class):
    """Render a form field's widget with a CSS class, marked invalid when it has errors."""
    attrs = {"class": css_class + (" is-invalid" if bound_field.errors else "")}
    if bound_field.errors:
        attrs["aria-describedby"] = f"{bound_field.auto_id}_error"
    return bound_field.as_widget(attrs=attrs)


# The empty details fields, rendered once per process: crispy-forms costs milliseconds per field.
_EMPTY_PATIENT_FIELDS: dict[str, str] = {}
PATIENT_FIELDS = ("name", "email", "phone", "date_of_birth")


@register.simple_tag
def patient_fields(form):
    """The patient's name, email, phone and date of birth fields. Empty (a form not yet sent, nothing filled in),
    they are the same for every patient, so they are rendered once; otherwise they are rendered each time, so no
    patient's details can ever be kept for the next."""
    template_name = "booking/patient_fields.html"
    empty = not form.is_bound and not form.errors and not any(form[name].value() for name in PATIENT_FIELDS)
    if not empty or settings.DEBUG:
        return render_to_string(template_name, {"form": form})
    html = _EMPTY_PATIENT_FIELDS.get(template_name)
    if html is None:
        html = _EMPTY_PATIENT_FIELDS[template_name] = render_to_string(template_name, {"form": form})
    return html


@register.filter(name="day_in_words")
def day_in_words_filter(value, day_format):
    """`{{ start_local|day_in_words:"j F" }}`: the day, and its year unless it is this year's (booking.emails)."""
    from booking.emails import day_in_words

    return day_in_words(value, day_format) if value else ""
