"""An email backend for fault tests that run a real worker in another process: slow on purpose, one file per
message, and able to hold a send half-way so a test can kill the worker while a message is in flight.

Set in the worker's environment: FAULT_MAIL_DIR (where each message lands as `<recipient>--<random>.eml`),
FAULT_MAIL_DELAY_SECONDS (the pretend SMTP conversation, 0.02 by default) and optionally FAULT_MAIL_HOLD_AFTER=N:
once N messages to the same domain as this one are on disk, the send writes `inflight-<pid>.txt` (the recipient)
and waits, at most FAULT_MAIL_HOLD_SECONDS, before delivering. Everything before the file appears is the send
in progress; a message counts as delivered only once its file exists (written whole, then renamed into place).
"""

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

_held = False  # one hold per process, so a worker nobody kills only ever waits once


def delivered(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(folder.glob(f"{pattern}--*.eml"))


def recipient_of(path: Path) -> str:
    return path.name.rsplit("--", 1)[0]


class SlowFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        global _held
        folder = Path(os.environ["FAULT_MAIL_DIR"])
        delay = float(os.environ.get("FAULT_MAIL_DELAY_SECONDS", "0.02"))
        hold_after = int(os.environ.get("FAULT_MAIL_HOLD_AFTER", "0"))
        for message in email_messages:
            data = message.message().as_bytes()
            [recipient] = message.to
            time.sleep(delay)  # talking to the mail server: nothing has been delivered yet
            domain = recipient.rpartition("@")[2]
            if hold_after and not _held and len(delivered(folder, f"*@{domain}")) >= hold_after:
                _held = True
                (folder / f"inflight-{os.getpid()}.txt").write_text(recipient)
                time.sleep(float(os.environ.get("FAULT_MAIL_HOLD_SECONDS", "30")))
            partial = folder / f".{uuid.uuid4().hex}.partial"
            partial.write_bytes(data)
            os.replace(partial, folder / f"{recipient}--{uuid.uuid4().hex}.eml")
        return len(email_messages)
