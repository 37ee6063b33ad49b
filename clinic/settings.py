"""Settings, read once from the environment.

With nothing set the product runs on a bare machine: SQLite, a file-based Celery transport and emails written to
the console. Set DATABASE_URL and REDIS_URL to run on PostgreSQL and Redis; see the README for every variable.
"""

from datetime import timedelta
from email.utils import formataddr, parseaddr
from pathlib import Path

import csp.constants as csp
import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# Zero-setup development is the default; a deployment sets DEBUG=false and must then supply SECRET_KEY.
DEBUG = env.bool("DEBUG", default=True)
DEV_ONLY_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 - public on purpose: refused with DEBUG off (clinic.E005)
SECRET_KEY = env("SECRET_KEY", default=DEV_ONLY_SECRET_KEY if DEBUG else environ.Env.NOTSET)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "booking.views.csrf_failure"  # the site's own page, with a way back to the times

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",  # django.contrib.admin with the staff two-factor switch
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "clinic",
    "booking",
    "screening",
]

MIDDLEWARE = [
    "clinic.head.head_without_body",
    "django.middleware.security.SecurityMiddleware",
    "clinic.errors.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "clinic.throttle.ThrottleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Puts the staff member and their IP address (as TRUSTED_PROXY_COUNT resolves it) on every audit log entry.
    "clinic.audit.TrustedProxyAuditlogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# Unset or empty (`DATABASE_URL= make run`): the zero-setup SQLite file.
DATABASES = {"default": env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A dispatcher holds a row lock while it sends an email. If its host dies rather than its process, PostgreSQL
    # must notice and free the row within minutes, not when TCP gives up hours later.
    # What DATABASE_URL sets itself (`?options=-c statement_timeout=5s`, `?keepalives_idle=60`) is kept.
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    for name, value in {
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }.items():
        database_options.setdefault(name, value)
    server_options = database_options.get("options", "")
    if "idle_in_transaction_session_timeout" not in server_options:
        database_options["options"] = f"{server_options} -c idle_in_transaction_session_timeout=120s".strip()
    # Django's backend, with a health check that needs no round trip while the server has said nothing.
    DATABASES["default"]["ENGINE"] = "clinic.db.postgresql"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share one file under `make run`: writers queue for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
    # The covering index's INCLUDE column is a PostgreSQL nicety; SQLite builds the plain index and says so.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # A Redis that stops answering (rather than refusing) must not hold a page for long: every cache call is a
    # nicety (availability's copies, throttling) that a request does without after a quarter of a second.
    CACHES = {
        "default": {
            "BACKEND": "clinic.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# django-axes watches every sign-in attempt first; ModelBackend does the actual authentication.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
FORMAT_MODULE_PATH = ["clinic.formats"]  # the 24-hour clock throughout the admin
# The clinic's own time zone: every time a patient or staff member sees is in this zone.
TIME_ZONE = env("CLINIC_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: EMAIL_URL such as smtp://user:pass@host:587 , filemail:///path/to/folder or consolemail://
_email_url = env("EMAIL_URL", default="consolemail://")
vars().update(env.email_url_config(_email_url))
if _email_url.startswith("filemail:"):
    # django-environ drops the leading slash of filemail:///abs/path; take the path as written, var/mail if none.
    EMAIL_FILE_PATH = _email_url.split("://", 1)[1] or str(VAR_DIR / "mail")
    EMAIL_BACKEND = "clinic.mail.FolderBackend"  # a file per email, however many go in one second
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# The clinic as patients see it. The defaults are the demo clinic's, for `make run`: with DEBUG off a system check
# warns of each one still in place (clinic.W001-W006, clinic/checks.py).
DEMO_CLINIC = {
    "CLINIC_NAME": "Harbour Skin Clinic",
    "CLINIC_PHONE": "020 7946 0321",
    "CLINIC_ADDRESS": "12 Harbour Street, London SE1 2AB",
    "CLINIC_REVIEW_EMAIL": "clinicians@harbourskin.example",
    "DEFAULT_FROM_EMAIL": "bookings@harbourskin.example",
    "SITE_URL": "http://127.0.0.1:8000",
}
CLINIC_NAME = env("CLINIC_NAME", default=DEMO_CLINIC["CLINIC_NAME"])
CLINIC_PHONE = env("CLINIC_PHONE", default=DEMO_CLINIC["CLINIC_PHONE"])
CLINIC_ADDRESS = env("CLINIC_ADDRESS", default=DEMO_CLINIC["CLINIC_ADDRESS"])
CLINIC_REVIEW_EMAIL = env("CLINIC_REVIEW_EMAIL", default=DEMO_CLINIC["CLINIC_REVIEW_EMAIL"])
# Patients see the clinic's own name as the sender unless DEFAULT_FROM_EMAIL is set (formataddr quotes a name with a
# comma or a dot in it, as an address header needs).
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="") or formataddr(
    (CLINIC_NAME, DEMO_CLINIC["DEFAULT_FROM_EMAIL"])
)
# Absolute base for links in emails (manage, unsubscribe, book again).
SITE_URL = env("SITE_URL", default=DEMO_CLINIC["SITE_URL"]).rstrip("/")

# Booking policy.
BOOKING_MIN_NOTICE_MINUTES = env.int("BOOKING_MIN_NOTICE_MINUTES", default=120)
BOOKING_HORIZON_DAYS = env.int("BOOKING_HORIZON_DAYS", default=90)
BOOKING_CANCEL_CUTOFF_HOURS = env.int("BOOKING_CANCEL_CUTOFF_HOURS", default=24)
BOOKING_SLOT_STEP_MINUTES = env.int("BOOKING_SLOT_STEP_MINUTES", default=15)
# Free times are cached in the shared cache (Redis) between diary changes; 0 turns it off. Off by default in
# development and tests, where the cache is per process. See booking/selectors.py.
AVAILABILITY_CACHE_SECONDS = env.int("AVAILABILITY_CACHE_SECONDS", default=60 if REDIS_URL and not DEBUG else 0)
# Manage links are signed and stop working this long after they were issued or after the visit, whichever is later.
MANAGE_LINK_MAX_AGE_DAYS = env.int("MANAGE_LINK_MAX_AGE_DAYS", default=180)

# Emails and reminders: each is a database row first; see "Emails and reminders" in the README.
# Two days, so the reminder comes while the patient can still cancel or move online (BOOKING_CANCEL_CUTOFF_HOURS);
# a setting that would send it later than 6 hours before online changes close is overridden (and warned of).
APPOINTMENT_REMINDER_HOURS = env.int("APPOINTMENT_REMINDER_HOURS", default=48)
# A booking still awaiting a clinician this long before its time emails CLINIC_REVIEW_EMAIL.
REVIEW_NUDGE_HOURS = env.int("REVIEW_NUDGE_HOURS", default=24)
# A failed send is tried again after 1, 2, 4 ... times the base (plus jitter), then marked failed for staff.
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=10)
EMAIL_RETRY_BASE_SECONDS = env.int("EMAIL_RETRY_BASE_SECONDS", default=60)
# One dispatch pass stops claiming rows after this long; the next beat carries on.
EMAIL_DISPATCH_SECONDS = 90
# A booking asks a worker for a pass at once, unless one was asked for this long ago or less: then one more pass
# goes when that window ends, for every email queued meanwhile (booking/emails.py DispatchKick). 0: a pass per email.
EMAIL_KICK_SECONDS = env.float("EMAIL_KICK_SECONDS", default=1.0)
# Beat starts one dispatch pass; it starts this many in all, so every worker process sends (match --concurrency).
EMAIL_DISPATCH_PARALLEL = env.int("EMAIL_DISPATCH_PARALLEL", default=2)

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport so `make run` needs no broker.
REDIS_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged acks_late message (worker died) is delivered again after this; those tasks are idempotent.
    "visibility_timeout": 3600,
    # Publishing after commit must not hang a request while Redis is down or unreachable: no reconnect loop, short
    # socket timeouts. The email row is already saved; the beat dispatch sends it once Redis is back.
    "max_retries": 0,
    "socket_connect_timeout": 1,
    "socket_timeout": 3,
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_BROKER_TRANSPORT_OPTIONS
    if REDIS_URL.startswith("redis://"):  # TLS (rediss://) and sockets keep kombu's own
        CELERY_BROKER_TRANSPORT = "clinic.broker:Transport"
else:
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _processed_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost/"  # a host named: kombu warns of none on every publish
    CELERY_BROKER_TRANSPORT = "clinic.broker:FilesystemTransport"  # whole messages only (see there)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Workers keep reconnecting through a Redis outage of any length, then carry on by themselves.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Tasks that run acks_late are idempotent, so cancelling them on a lost connection (redelivered later) is safe.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
try:
    VAR_DIR.mkdir(exist_ok=True)  # beat cannot start without the schedule's folder, on Redis as on the file broker
except OSError:
    pass  # a read-only image: its beat is given a --schedule elsewhere (docker-compose.yml)
# The periodic work lives in code, here, so every deployment runs the same schedule. A dispatch pass that waited in
# the queue longer than its interval (a worker was down) is dropped: the next one does the same work.
CELERY_BEAT_SCHEDULE = {
    "dispatch-appointment-emails": {
        "task": "booking.tasks.dispatch_due_appointment_emails",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    "dispatch-eligibility-reminders": {
        "task": "screening.tasks.dispatch_due_eligibility_reminders",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
}

# Each unhandled error (a 500) is emailed to ADMINS, with DEBUG off: comma-separated addresses, each may be
# "Name <address>"; unset, nobody. The report carries no POST values or local variables (see the end of this file).
ADMINS = [parseaddr(address) for address in env.list("ADMINS", default=[])]
# Their sender: the patients' sender's address unless set, as most mail servers refuse Django's root@localhost.
SERVER_EMAIL = env("SERVER_EMAIL", default="") or parseaddr(DEFAULT_FROM_EMAIL)[1]

# Django's own "django" logger comes with a console handler of its own while DEBUG is on (runserver's default), so
# every 500 was written twice: there, and again through the root's. It keeps only the admins' email and propagates.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
    },
}


# --- Hardening: production security headers, staff sign-in, throttling, error reports --------------------------
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips any copy a client sends).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers and uptime monitors probe /healthz over plain HTTP, inside the proxy: answer them, not redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sessions end with the browser. A patient's carries only the screenings this browser made (no account), and must
# outlive any screening's time to book (a policy's screening_valid_minutes, at most a day); staff are signed out
# after STAFF_SESSION_MINUTES without activity, by the admin site (clinic.admin_site), not by the session's age.
SESSION_COOKIE_AGE = 24 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
STAFF_SESSION_MINUTES = env.int("STAFF_SESSION_MINUTES", default=120)

# Content-Security-Policy (django-csp 4): our own files only; no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],  # Bootstrap draws form controls with data: SVGs
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        "base-uri": [csp.NONE],
        "object-src": [csp.NONE],
    }
}

# Staff sign-in: django-axes locks a username at one address out after repeated failures (kept in the database).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "clinic.admin_site.locked_out"
AXES_CLIENT_IP_CALLABLE = "clinic.throttle.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
# Two-factor (django-otp, TOTP) for the admin; off by default only in development so the demo needs no phone.
STAFF_2FA_REQUIRED = env.bool("STAFF_2FA_REQUIRED", default=not DEBUG)
OTP_TOTP_ISSUER = CLINIC_NAME

# Throttling of patient endpoints, per resolved URL name ("namespace:*" matches a whole app), counted in the
# shared cache so every gunicorn worker sees the same numbers. Limits are per client address ("ip"), per email
# typed into the form ("email") and per manage link ("link"); a rate is requests per window of the clock ("20/10m").
THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
THROTTLE_KEY_PREFIX = "throttle:"
# How many proxies in front of the app append to X-Forwarded-For (0: use the socket address).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
THROTTLE_RULES = {
    "booking:details": {"methods": ["POST"], "limits": {"ip": "20/10m", "email": "10/h"}},
    "booking:manage": {"methods": ["GET"], "limits": {"ip": "60/10m"}},
    "booking:cancel": {"methods": ["POST"], "limits": {"ip": "20/10m", "link": "10/h"}},
    # Moves are counted, not looking at days: the page, like the times page, is for browsing.
    "booking:reschedule": {"methods": ["POST"], "limits": {"ip": "20/10m", "link": "10/h"}},
    "screening:*": {"methods": ["POST"], "limits": {"ip": "20/10m", "email": "10/h"}},
    "screening:unsubscribe": {"methods": ["GET", "POST"], "limits": {"ip": "20/10m", "link": "10/h"}},
    "admin:login": {"methods": ["POST"], "limits": {"ip": "30/10m"}},
}

# Screening answers are encrypted at rest (Fernet: AES-128 and HMAC-SHA256) with keys of their own, not SECRET_KEY.
# The first key encrypts and every key decrypts: to rotate, put a new key first, run `manage.py
# rotate_screening_key`, then drop the old one. Make a key with `manage.py rotate_screening_key --new-key`.
# The development key is public (it is right here): with DEBUG off a system check refuses it (clinic.E004).
DEV_ONLY_SCREENING_ENCRYPTION_KEY = "ZGV2LW9ubHktc2NyZWVuaW5nLWtleS1ub3Qtc2FmZSE="
# docker-compose.yml's fallbacks for a local stack are public too; with DEBUG off they are warned of (clinic.W007),
# not refused, so the local stack, which runs with DEBUG off, still starts.
PUBLIC_COMPOSE_KEYS = {
    "SECRET_KEY": "public-key-for-the-local-compose-stack-only-set-your-own-in-dotenv",  # noqa: S105 - public
    "SCREENING_ENCRYPTION_KEYS": "ZGVtby1vbmx5LWNvbXBvc2Uta2V5LWNoYW5nZS1tZSE=",
}
SCREENING_ENCRYPTION_KEYS = env.list(
    "SCREENING_ENCRYPTION_KEYS", default=[DEV_ONLY_SCREENING_ENCRYPTION_KEY] if DEBUG else environ.Env.NOTSET
)
# Retention: answers behind a past appointment are erased this many months after it; answers that never backed a
# booking that went ahead (abandoned, declined or cancelled) after this many days. The booking record stays.
SCREENING_RETENTION_MONTHS = env.int("SCREENING_RETENTION_MONTHS", default=24)
SCREENING_RETENTION_UNBOOKED_DAYS = env.int("SCREENING_RETENTION_UNBOOKED_DAYS", default=90)
CELERY_BEAT_SCHEDULE["erase-expired-screening-answers"] = {
    "task": "screening.tasks.erase_expired_screening_answers",
    "schedule": 300.0,
    "options": {"expires": 290},
}

# Error reports (logs, admin emails) carry no local variables and no POST values: they may hold health answers.
DEFAULT_EXCEPTION_REPORTER_FILTER = "clinic.errors.HealthDataReporterFilter"
