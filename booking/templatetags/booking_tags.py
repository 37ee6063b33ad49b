from django import template

register = template.Library()


@register.inclusion_tag("includes/steps.html")
def journey_steps(treatment, step):
    """Show the patient's progress; the screening step appears only for treatments that need it."""
    steps = [("treatment", "Treatment")]
    if treatment is not None and treatment.requires_screening:
        steps.append(("screening", "Health questions"))
    steps += [("time", "Time"), ("details", "Your details"), ("done", "Done")]
    return {"steps": steps, "step": step}
