"""QuickFoldPolicy writes exactly the bytes the standard library's compat32 policy writes, only faster."""

from email.policy import compat32

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clinic.mail import QUICK_FOLD, TemplatedEmail

HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=9, max_codepoint=0x17F, exclude_characters="\r\n"))


@settings(max_examples=2000, deadline=None)
@given(name=st.sampled_from(["Subject", "To", "Content-Type", "List-Unsubscribe", "X"]), value=HEADER_TEXT)
@example(name="Subject", value="\x0c0:")  # found by a run: refused by both
def test_every_header_folds_to_the_same_bytes(name, value):
    for linesep in ("\n", "\r\n"):
        ours, standard = QUICK_FOLD.clone(linesep=linesep), compat32.clone(linesep=linesep)
        assert folded(ours, name, value) == folded(standard, name, value)


def folded(policy, name, value) -> bytes | str:
    """The folded header, or the name of the error the policy refuses it with (a form feed followed by "0:" reads
    as a second header to the standard library: both policies must refuse it alike)."""
    try:
        return policy.fold_binary(name, value)
    except Exception as refusal:  # noqa: BLE001 - compared, not hidden
        return type(refusal).__name__


def written_both_ways(message: TemplatedEmail) -> tuple[bytes, bytes]:
    mime = message.message()
    ours = mime.as_bytes(linesep="\r\n")
    mime.policy = compat32
    return ours, mime.as_bytes(linesep="\r\n")


def test_a_whole_email_with_an_attachment_and_long_headers_is_written_the_same():
    message = TemplatedEmail(
        subject="Your appointment on Tuesday 3 March: Hydrating facial at Clinique Émilie",
        body="Hello Sam,\n\nSee you soon.\n" + "A long line " * 20 + "\n",
        to=["sam.o'neil+clinic@example.com"],
        headers={
            "List-Unsubscribe": "<https://clinic.example.com/screening/unsubscribe/0b6e5c9e-5e0e-4a57-9d5c-1c4f6d0a2f11/>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative("<p>Hello Sam, see you soon.</p>", "text/html")
    message.attach("appointment.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    ours, standard = written_both_ways(message)
    assert ours == standard
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in ours
