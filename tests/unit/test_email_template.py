"""An email filled in from an EmailTemplate leaves as exactly the bytes stock Django writes for the same email.

The reference is Django's own EmailMultiAlternatives with the standard compat32 policy, given the same date,
Message-ID and boundary; the values are generated: addresses and names in and out of ASCII, links long enough to
fold a header or push a body line past 998 bytes, control characters.
"""

import copy
import email
import io
from email.policy import compat32
from html import escape
from urllib.parse import urlencode

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.mail import QUICK_FOLD, EmailTemplate, FilledMessage, TemplatedEmail

TO, BOOK, BOOK_HTML, UNSUB, UNSUB_HTML = (f"x{n}5f3a9c0e7b21d4x" for n in range(5))
STAND_INS = [TO, BOOK, BOOK_HTML, UNSUB, UNSUB_HTML]
SITE = "https://book.harbourskin.example"


def prototype(
    *, subject="Your wait is over: you can book Microneedling — Clinique Émilie", prefix=""
) -> TemplatedEmail:
    message = TemplatedEmail(
        subject=subject,
        body=f"Hello,\n\nGood news: from today you can book with us.\n\nBook here:\n{prefix}{BOOK}\n\n"
        f"Questions? Call us. Clinique Émilie\n\nStop these reminders: {UNSUB}\n",
        to=[TO],
        headers={"List-Unsubscribe": f"<{UNSUB}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(
        f'<p>Hello, Émilie here.</p>\n<p><a href="{BOOK_HTML}" style="display: inline-block">Book</a></p>\n'
        f'<p>{prefix}<a href="{UNSUB_HTML}">Stop these reminders</a>.</p>\n',
        "text/html",
    )
    return message


def values_for(to: str, book: str, unsubscribe: str) -> dict[str, str]:
    return {TO: to, BOOK: book, BOOK_HTML: escape(book), UNSUB: unsubscribe, UNSUB_HTML: escape(unsubscribe)}


def stock_django(message: TemplatedEmail, written: bytes, linesep: str) -> bytes:
    """The same email written by stock Django and the standard library, with the date, Message-ID and boundary
    read back from `written`."""
    sent = email.message_from_bytes(written, policy=compat32)
    stock = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=message.from_email,
        to=message.to,
        headers={"Date": sent["Date"], "Message-ID": sent["Message-ID"], **message.extra_headers},
    )
    for content, mimetype in message.alternatives:
        stock.attach_alternative(content, mimetype)
    mime = stock.message()
    mime.set_boundary(sent.get_boundary())
    return mime.as_bytes(linesep=linesep)


ASCII_ADDRESS = st.emails()
ANY_ADDRESS = st.one_of(
    ASCII_ADDRESS,
    st.sampled_from(["zoë@example.com", "sam@exämple.co.uk", "jo@例え.jp", "ana.maría+clinic@correo.es"]),
    st.builds(
        lambda name, address: f"{name} <{address}>",
        st.text(alphabet=st.characters(min_codepoint=0x41, max_codepoint=0x17F, exclude_categories=["Cc"]), max_size=40)
        .map(str.strip)
        .filter(lambda name: name and not set(name) & set('<>"(),;:@[]\\')),
        ASCII_ADDRESS,
    ),
    st.builds(lambda local: f"{local}@example.com", st.text(alphabet="abcdefghij.", min_size=60, max_size=120)),
)
LINK_TEXT = st.one_of(
    st.text(max_size=40),  # any character: non-ASCII, control characters, line breaks
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=900, max_size=1100),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    to=ANY_ADDRESS,
    filled_in=st.one_of(ASCII_ADDRESS, ANY_ADDRESS, LINK_TEXT),
    token=st.uuids(),
    site=st.sampled_from([SITE, "http://127.0.0.1:8000", "https://" + "very-long-clinic-name." * 4 + "example"]),
    linesep=st.sampled_from(["\n", "\r\n"]),
)
def test_a_filled_email_is_byte_for_byte_what_django_writes(to, filled_in, token, site, linesep):
    template = TEMPLATE
    book = f"{site}/book/microneedling/screening/?{urlencode({'email': filled_in})}"
    unsubscribe = f"{site}/reminders/unsubscribe/{token}/"
    message = template.email(values_for(to, book, unsubscribe))
    try:
        written = message.message().as_bytes(linesep=linesep)
    except ValueError as error:  # Django refuses some addresses (and a line break in a header) either way
        with pytest.raises(type(error)):
            stock_django(message, b"", linesep)
        return
    assert written == stock_django(message, written, linesep)
    assert template._limits is not None  # the template is still in use: its first email matched in full


TEMPLATE = EmailTemplate(prototype(), STAND_INS)


def test_plain_addresses_and_links_take_the_template_and_a_folded_list_unsubscribe_header_matches():
    template = EmailTemplate(prototype(), STAND_INS)
    message = template.email(
        values_for(
            "sam@example.com", f"{SITE}/book/x/?email=sam%40example.com", f"{SITE}/reminders/unsubscribe/{'a' * 36}/"
        )
    )
    mime = message.message()
    assert isinstance(mime, FilledMessage)
    written = mime.as_bytes(linesep="\r\n")
    assert b"List-Unsubscribe: \r\n <https://" in written  # too long for one line: folded as compat32 folds it
    assert written == stock_django(message, written, "\r\n")


def test_a_non_ascii_address_is_built_in_full_and_still_matches():
    template = EmailTemplate(prototype(), STAND_INS)
    message = template.email(values_for("zoë@exämple.com", f"{SITE}/b/", f"{SITE}/u/"))
    mime = message.message()
    assert not isinstance(mime, FilledMessage)
    written = mime.as_bytes()
    assert b"xn--exmple-cua.com" in written
    assert written == stock_django(message, written, "\n")


def test_a_template_whose_link_line_is_already_too_long_is_never_used():
    # A line past 998 bytes makes Django write the part quoted-printable, which would break the stand-ins apart.
    template = EmailTemplate(prototype(prefix="x" * 990), STAND_INS)
    assert template._limits is None
    message = template.email(values_for("sam@example.com", f"{SITE}/b/", f"{SITE}/u/"))
    written = message.message().as_bytes()
    assert b"Content-Transfer-Encoding: quoted-printable" in written
    assert written == stock_django(message, written, "\n")


def test_a_stand_in_in_the_subject_turns_the_template_off():
    template = EmailTemplate(prototype(subject=f"For {TO}"), STAND_INS)
    assert template._limits is None
    message = template.email(values_for("sam@example.com", f"{SITE}/b/", f"{SITE}/u/"))
    assert message.subject == "For sam@example.com"
    written = message.message().as_bytes()
    assert written == stock_django(message, written, "\n")


def test_reading_or_changing_a_header_gets_djangos_own_message_with_the_same_stamp():
    template = EmailTemplate(prototype(), STAND_INS)
    message = template.email(values_for("sam@example.com", f"{SITE}/b/", f"{SITE}/u/"))
    mime = message.message()
    before = mime.as_bytes()
    assert mime["To"] == "sam@example.com" and "Date" in mime
    assert mime.as_bytes() == before
    mime["X-Campaign"] = "eligibility"
    after = mime.as_bytes()
    assert after.startswith(before.split(b"\n\n", 1)[0]) and b"X-Campaign: eligibility\n" in after


def test_a_copy_of_the_mime_message_writes_the_same_bytes():
    template = EmailTemplate(prototype(), STAND_INS)
    mime = template.email(values_for("sam@example.com", f"{SITE}/b/", f"{SITE}/u/")).message()
    assert copy.deepcopy(mime).as_bytes() == mime.as_bytes()


class RecordingSMTP:
    def __init__(self):
        self.sent = []

    def sendmail(self, from_email, recipients, message):
        self.sent.append((from_email, recipients, message))
        return {}


def test_every_backend_sends_what_stock_django_writes(tmp_path, settings):
    template = EmailTemplate(prototype(), STAND_INS)
    values = values_for("sam@example.com", f"{SITE}/book/x/?email=sam%40example.com", f"{SITE}/reminders/u/1/")

    smtp = SmtpBackend(host="localhost", port=25)
    smtp.connection = RecordingSMTP()  # an open connection: send_messages uses it as it is
    message = template.email(values, connection=smtp)
    assert message.send() == 1
    ((from_email, recipients, written),) = smtp.connection.sent
    assert recipients == ["sam@example.com"]
    assert written == stock_django(message, written, "\r\n")

    files = FileBackend(file_path=str(tmp_path))
    message = template.email(values, connection=files)
    message.send()
    (path,) = tmp_path.iterdir()
    written = path.read_bytes().removesuffix(b"\n" + b"-" * 79 + b"\n")
    assert written == stock_django(message, written, "\n")

    stream = io.StringIO()
    message = template.email(values, connection=ConsoleBackend(stream=stream))
    message.send()
    written = stream.getvalue().split("\n" + "-" * 79)[0].encode()
    assert written == stock_django(message, written, "\n")

    from django.core import mail

    mail.outbox = []
    message = template.email(values, connection=LocmemBackend())
    message.send()
    (kept,) = mail.outbox
    assert kept.to == ["sam@example.com"] and kept.body == message.body and kept.alternatives == message.alternatives
    written = kept.message().as_bytes()
    assert written == stock_django(kept, written, "\n")


@settings(max_examples=3000, deadline=None)
@given(
    name=st.one_of(
        st.sampled_from(["To", "List-Unsubscribe", "Message-ID", "X"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=90),
    ),
    word=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=300),
    linesep=st.sampled_from(["\n", "\r\n"]),
)
def test_a_single_word_too_long_for_the_first_line_folds_as_compat32_folds_it(name, word, linesep):
    ours, standard = QUICK_FOLD.clone(linesep=linesep), compat32.clone(linesep=linesep)
    assert ours.fold_binary(name, word) == standard.fold_binary(name, word)
