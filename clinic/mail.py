"""Render and send a templated email: templates/emails/<name>/{subject.txt, body.txt, body.html}."""

import secrets
from email.policy import Compat32
from html import unescape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


class QuickFoldPolicy(Compat32):
    """The standard library's compat32 email policy, writing a header that needs no folding as it is.

    compat32 passes every header through `email.header.Header` to fold it, about 45 us each and sixteen headers in a
    reminder: a fifth of the cost of sending one. For a value of printable ASCII short enough for one line, Header
    returns it unchanged, so this writes it directly (the same bytes: tests/unit/test_email_folding.py); anything
    else takes the standard path.
    """

    def _fold(self, name, value, sanitize):
        limit = self.max_line_length
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()  # no control characters: Header splits lines on more than CR and LF
            and (limit is None or len(name) + 2 + len(value) <= limit)
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


QUICK_FOLD = QuickFoldPolicy()


class TemplatedEmail(EmailMultiAlternatives):
    """Text with an HTML alternative, its MIME boundary chosen up front, written with QuickFoldPolicy.

    Left to itself, the standard library picks a boundary while writing the message out and compiles a fresh regular
    expression to check that the text does not contain it: about a tenth of the cost of building a reminder. A
    random 96-bit boundary cannot turn up in the text by chance, and nobody can guess it to put it there.
    """

    def message(self, *args, **kwargs):
        msg = super().message(*args, **kwargs)
        msg.policy = QUICK_FOLD  # the generator writes every part with the top-level message's policy
        return msg

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if msg.is_multipart():
            # 96 random bits: short enough that the Content-Type header fits on one line and needs no folding.
            msg.set_boundary(f"=_{secrets.token_hex(12)}")
        return msg


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


def templated_email(
    *, name: str, context: dict, to: str, attachments=(), headers: dict | None = None, connection=None
) -> TemplatedEmail:
    """Return a plain-text email with an HTML alternative, ready to send (over `connection`, if given)."""
    subject, text, html = render_email(name, context)
    message = TemplatedEmail(subject=subject, body=text, to=[to], headers=headers or {}, connection=connection)
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def send_templated_email(*, name: str, context: dict, to: str, attachments=(), headers: dict | None = None) -> None:
    """Send a plain-text email with an HTML alternative. Raises on failure; callers decide about retries."""
    templated_email(name=name, context=context, to=to, attachments=attachments, headers=headers).send(
        fail_silently=False
    )
