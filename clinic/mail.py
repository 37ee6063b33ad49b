"""Render and send a templated email: templates/emails/<name>/{subject.txt, body.txt, body.html}."""

from html import unescape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    context = {
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_address": settings.CLINIC_ADDRESS,
        "site_url": settings.SITE_URL,
        **context,
    }
    # Subjects are plain text: undo the HTML escaping the template engine applied.
    subject = unescape(" ".join(render_to_string(f"emails/{name}/subject.txt", context).split()))
    text = render_to_string(f"emails/{name}/body.txt", context)
    html = render_to_string(f"emails/{name}/body.html", context)
    return subject, text, html


def send_templated_email(*, name: str, context: dict, to: str, attachments=(), headers: dict | None = None) -> None:
    """Send a plain-text email with an HTML alternative. Raises on failure; callers decide about retries."""
    subject, text, html = render_email(name, context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send(fail_silently=False)
