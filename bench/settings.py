"""The production settings (clinic.settings, read from the environment as deployed), with one change: emails go to
a file the benchmark reads back, one line per message, so it can prove each reminder was sent exactly once."""

from clinic.settings import *  # noqa: F403

EMAIL_BACKEND = "bench.mail.LedgerEmailBackend"
