"""Settings for a worker started by a fault test: the project's own (read from the environment as deployed), with
the slow file email backend (tests/slow_mail.py) so the test can count every message the worker delivered."""

from clinic.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.slow_mail.SlowFileEmailBackend"
