"""Render and send a templated email: templates/emails/<name>/{subject.txt, body.txt, body.html}."""

import itertools
import os
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.policy import Compat32
from email.utils import formatdate, make_msgid
from html import unescape

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import filebased
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT
from django.core.mail.utils import DNS_NAME
from django.template.loader import render_to_string


class QuickFoldPolicy(Compat32):
    """The standard library's compat32 email policy, writing a header that needs no folding as it is.

    compat32 passes every header through `email.header.Header` to fold it, about 45 us each and sixteen headers in a
    reminder: a fifth of the cost of sending one. For a value of printable ASCII short enough for one line, Header
    returns it unchanged, and a single word too long for that it puts on a line of its own, so this writes those
    directly (the same bytes: tests/unit/test_email_folding.py); anything else takes the standard path.
    """

    def _fold(self, name, value, sanitize):
        limit = self.max_line_length
        # No control characters: Header splits lines on more than CR and LF.
        if isinstance(value, str) and value.isascii() and value.isprintable():
            if limit is None or len(name) + 2 + len(value) <= limit:
                return f"{name}: {value}{self.linesep}"
            if value and " " not in value and len(name) + 2 <= limit:
                # One word too long for the first line (a List-Unsubscribe URL): Header moves it, whole, to a
                # continuation line of its own.
                return f"{name}: {self.linesep} {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


QUICK_FOLD = QuickFoldPolicy()


def _written_as_is(name: str, value) -> bool:
    """Whether QuickFoldPolicy writes this header as `name: value` (printable ASCII on one line)."""
    limit = QUICK_FOLD.max_line_length
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isprintable()
        and (limit is None or len(name) + 2 + len(value) <= limit)
    )


def _new_boundary() -> str:
    # 96 random bits: short enough that the Content-Type header fits on one line and needs no folding.
    return f"=_{secrets.token_hex(12)}"


@dataclass(frozen=True)
class Stamp:
    """What every message gets afresh: its date, Message-ID and MIME boundary."""

    date: str
    message_id: str
    boundary: str

    @classmethod
    def new(cls) -> "Stamp":
        # The calls EmailMessage.message() and TemplatedEmail._create_alternatives make.
        return cls(formatdate(localtime=settings.EMAIL_USE_LOCALTIME), make_msgid(domain=DNS_NAME), _new_boundary())


class TemplatedEmail(EmailMultiAlternatives):
    """Text with an HTML alternative, its MIME boundary chosen up front, written with QuickFoldPolicy.

    Left to itself, the standard library picks a boundary while writing the message out and compiles a fresh regular
    expression to check that the text does not contain it: about a tenth of the cost of building a reminder. A
    random 96-bit boundary cannot turn up in the text by chance, and nobody can guess it to put it there.

    An email filled in from an EmailTemplate takes its MIME bytes from the template's (see there).
    """

    template: "EmailTemplate | None" = None  # with the values filled in, set by EmailTemplate.email()
    values: dict[str, str] | None = None
    _stamp: Stamp | None = None

    def message(self, *args, **kwargs):
        if self.template is not None:
            return self.template.mime(self)
        return self.build_message()

    def build_message(self, stamp: Stamp | None = None):
        """Build the MIME message as Django does; with `stamp`, with its date, Message-ID and boundary."""
        self._stamp = stamp
        try:
            msg = super().message()
        finally:
            self._stamp = None
        msg.policy = QUICK_FOLD  # the generator writes every part with the top-level message's policy
        if stamp is not None:
            # Django has just set both (an email that sets either itself gets no stamp), in this order.
            msg.replace_header("Date", stamp.date)
            msg.replace_header("Message-ID", stamp.message_id)
        return msg

    def _create_alternatives(self, msg):
        msg = super()._create_alternatives(msg)
        if msg.is_multipart():
            msg.set_boundary(self._stamp.boundary if self._stamp else _new_boundary())
        return msg


# Stand-ins for a stamp: printable, and as long as a real date and boundary.
_STAMP_STAND_IN = Stamp(date="x-date-" + "0" * 24, message_id="<x-message-id>", boundary="=_" + "0" * 24)


class EmailTemplate:
    """One email rendered with stand-ins for what differs per recipient, and its MIME bytes written once.

    `email(values)` returns the prototype with each stand-in replaced by a recipient's value, in the recipients, the
    subject, the extra headers, the body and the alternatives. Its MIME bytes are the prototype's, written once per line
    separator: each header holding a stand-in is folded afresh with its value (by the policy the generator uses),
    the body takes each value in place of its stand-in, and every email gets a fresh date, Message-ID and boundary.
    Building and writing each MIME message in full was half of the cost of sending a reminder.

    The body is exactly what Django would write only where the standard library writes each value as it is, so the
    template is used only when that holds, and otherwise the email is built the ordinary way:
    - the template: UTF-8, no attachments, cc or reply-to, no Date or Message-ID of its own, every part 7bit or 8bit
      (not quoted-printable or base64), no stand-in in the subject (Django encodes it before folding), and each
      stand-in in the written bytes exactly as often as it was put in;
    - each email: every value printable ASCII (Django passes such header values on as they are), and each body line
      holding one at most 998 bytes long (past that, Django makes the part quoted-printable);
    - the first email of each line separator is also built in full and compared byte for byte; if the two differ,
      every email from the template is built in full (tests/unit/test_email_template.py compares thousands).
    Anything else asked of the MIME message than `as_bytes()` (a backend reading a header, say) is answered by
    Django's own message, built with the same date, Message-ID and boundary.
    """

    def __init__(self, prototype: TemplatedEmail, stand_ins: Sequence[str]):
        self.prototype = prototype
        self.stand_ins = tuple(stand_ins)
        self._every = (*self.stand_ins, _STAMP_STAND_IN.date, _STAMP_STAND_IN.message_id, _STAMP_STAND_IN.boundary)
        self._split = re.compile("(" + "|".join(re.escape(s) for s in self.stand_ins) + ")")
        self._subject = self._split.split(prototype.subject)
        self._to = [self._split.split(address) for address in prototype.to]
        self._headers = {name: self._split.split(value) for name, value in prototype.extra_headers.items()}
        self._body = self._split.split(prototype.body)
        self._alternatives = [(self._split.split(content), mimetype) for content, mimetype in prototype.alternatives]
        self._limits = self._line_limits()
        self._written: dict[str, tuple | None] = {}  # per line separator: (policy, headers, body pieces), or None
        self._checked: set[str] = set()

    def __deepcopy__(self, memo):
        return self  # shared, not copied, by the emails filled from it (the locmem backend deep-copies each)

    @staticmethod
    def _fill(pieces: list, values: dict):
        """Join pieces split at the stand-ins (at odd positions), each stand-in replaced by its value."""
        if len(pieces) == 1:
            return pieces[0]
        return pieces[0][:0].join([values[piece] if i % 2 else piece for i, piece in enumerate(pieces)])

    def email(self, values: dict[str, str], *, connection=None) -> TemplatedEmail:
        """Return the prototype with every stand-in replaced by its value in `values`."""
        proto = self.prototype
        email = TemplatedEmail(
            subject=self._fill(self._subject, values),
            body=self._fill(self._body, values),
            from_email=proto.from_email,
            to=[self._fill(pieces, values) for pieces in self._to],
            headers={name: self._fill(pieces, values) for name, pieces in self._headers.items()},
            connection=connection,
        )
        for pieces, mimetype in self._alternatives:
            email.attach_alternative(self._fill(pieces, values), mimetype)
        email.template, email.values = self, values
        return email

    def mime(self, email: TemplatedEmail):
        """Return the MIME message of an email filled from this template."""
        stamp = Stamp.new()
        if self._limits is None:
            return email.build_message(stamp)
        values = {
            **email.values,
            _STAMP_STAND_IN.date: stamp.date,
            _STAMP_STAND_IN.message_id: stamp.message_id,
            _STAMP_STAND_IN.boundary: stamp.boundary,
        }
        if not self._fits(values):
            return email.build_message(stamp)
        return FilledMessage(email, stamp, values)

    def as_bytes(self, email: TemplatedEmail, stamp: Stamp, values: dict[str, str], linesep: str) -> bytes | None:
        """Return the email's MIME bytes from the template, or None when the template cannot write them."""
        written = self._template(linesep)
        if written is None:
            return None
        policy, headers, body = written
        out = [policy.fold_binary(name, self._fill(pieces, values)) if pieces else name for name, pieces in headers]
        out.append(self._fill(body, {key.encode(): value.encode() for key, value in values.items()}))
        result = b"".join(out)
        if linesep not in self._checked:
            self._checked.add(linesep)
            if result != email.build_message(stamp).as_bytes(linesep=linesep):
                self._limits = None  # from now on, every email from this template is built in full
                return None
        return result

    def _line_limits(self) -> list[tuple[int, dict[str, int]]] | None:
        """For each body line holding a stand-in: its length without them and how many of each it holds. None when
        the template cannot be used."""
        proto = self.prototype
        if (proto.encoding or settings.DEFAULT_CHARSET) != "utf-8" or proto.attachments or proto.cc or proto.reply_to:
            return None
        if {name.lower() for name in proto.extra_headers} & {"date", "message-id"}:
            return None
        if any(s in proto.subject for s in self.stand_ins):
            return None
        msg = proto.build_message(_STAMP_STAND_IN)
        if any(
            part.get("Content-Transfer-Encoding") not in ("7bit", "8bit")
            for part in msg.walk()
            if not part.is_multipart()
        ):
            return None
        limits = []
        for text in (proto.body, *(content for content, _ in proto.alternatives)):
            for line in text.splitlines():
                counts = {s: line.count(s) for s in self.stand_ins if s in line}
                if counts:
                    length = len(line.encode(errors="surrogateescape"))
                    limits.append((length - sum(len(s) * n for s, n in counts.items()), counts))
        return limits

    def _fits(self, values: dict[str, str]) -> bool:
        """Whether the standard library would write each value as it is (see the class docstring)."""
        for value in values.values():
            if not (value.isascii() and value.isprintable()):
                return False
        return all(
            fixed + sum(len(values[s]) * n for s, n in counts.items()) <= RFC5322_EMAIL_LINE_LENGTH_LIMIT
            for fixed, counts in self._limits
        )

    def _template(self, linesep: str) -> tuple | None:
        """Return (policy, headers, body pieces) for this line separator: each header as (its written bytes, None)
        or, holding a stand-in, (its name, its value split at them); the body split at the stand-ins."""
        if linesep not in self._written:
            self._written[linesep] = None
            msg = self.prototype.build_message(_STAMP_STAND_IN)
            policy = msg.policy.clone(linesep=linesep)  # as the generator clones it
            headers, header_bytes = [], []
            every = re.compile("(" + "|".join(re.escape(s) for s in self._every) + ")")
            for name, value in msg.raw_items():
                written = policy.fold_binary(name, value)
                header_bytes.append(written)
                holds = isinstance(value, str) and every.search(value)
                headers.append((name, every.split(value)) if holds else (written, None))
            whole = msg.as_bytes(linesep=linesep)
            head = b"".join(header_bytes) + linesep.encode()
            if not whole.startswith(head):
                return None
            headers.append((linesep.encode(), None))
            body = re.split(b"(" + b"|".join(re.escape(s.encode()) for s in self._every) + b")", whole[len(head) :])
            found = Counter(body[1::2])
            # Every stand-in in the body where it was put and nowhere else (an encoded part would move it): as often as
            # in the texts, and the boundary once before each part and once at the end.
            texts = (self.prototype.body, *(content for content, _ in self.prototype.alternatives))
            expected = Counter({s.encode(): sum(text.count(s) for text in texts) for s in self.stand_ins})
            if msg.is_multipart():
                expected[_STAMP_STAND_IN.boundary.encode()] = len(msg.get_payload()) + 1
            if +found != +expected:
                return None
            self._written[linesep] = (policy, headers, body)
        return self._written[linesep]


class FilledMessage:
    """The MIME message of an email filled from an EmailTemplate: its bytes from the template, anything else from
    Django's own message, built on first use with the same stamp (and then its bytes too)."""

    def __init__(self, email: TemplatedEmail, stamp: Stamp, values: dict[str, str]):
        self._email, self._stamp, self._values, self._built = email, stamp, values, None

    def _message(self):
        if self._built is None:
            self._built = self._email.build_message(self._stamp)
        return self._built

    def as_bytes(self, unixfrom=False, linesep="\n"):
        if self._built is None and not unixfrom:
            written = self._email.template.as_bytes(self._email, self._stamp, self._values, linesep)
            if written is not None:
                return written
        return self._message().as_bytes(unixfrom=unixfrom, linesep=linesep)

    def __bytes__(self):
        return self.as_bytes()

    def __getattr__(self, name):
        if name.startswith("__") or "_built" not in self.__dict__:  # copy and pickle probe an empty instance
            raise AttributeError(name)
        return getattr(self._message(), name)

    # Python looks special methods up on the class, past __getattr__.
    def __getitem__(self, name):
        return self._message()[name]

    def __setitem__(self, name, value):
        self._message()[name] = value

    def __delitem__(self, name):
        del self._message()[name]

    def __contains__(self, name):
        return name in self._message()

    def __len__(self):
        return len(self._message())

    def __iter__(self):
        return iter(self._message())

    def __str__(self):
        return str(self._message())


_RUNS_OF_BLANK_LINES = re.compile(r"\n{3,}")


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
    # Optional parts left out leave empty lines behind them in the plain text: a patient reads one blank line.
    text = _RUNS_OF_BLANK_LINES.sub("\n\n", render_to_string(f"emails/{name}/body.txt", context))
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


_FILE_NUMBERS = itertools.count(1)


class FolderBackend(filebased.EmailBackend):
    """Django's file backend (`EMAIL_URL=filemail://`, `make run`), one file per mail connection, named so that two
    connections never share one: Django names them by the second and the connection object's id, which Python reuses
    once an object is gone, so two emails sent in the same second could land in one file."""

    def _get_filename(self):
        if self._fname is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            self._fname = os.path.join(self.file_path, f"{stamp}-{os.getpid()}-{next(_FILE_NUMBERS)}.log")
        return self._fname
