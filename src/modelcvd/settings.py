"""The one settings module. Every value comes from the environment, with safe defaults.

The embedded default (no variables set) is SQLite under ./data and a Celery broker on SQLite,
so `make demo` needs no other server. At scale, DATABASE_URL points at PostgreSQL and
CELERY_BROKER_URL at Redis. docs/settings.md documents every variable read here (a test
checks that).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env("MODELCVD_DATA_DIR", str(Path.cwd() / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEFAULT_SECRET_KEY = "insecure-embedded-default-change-me"  # noqa: S105
SECRET_KEY = env("MODELCVD_SECRET_KEY", DEFAULT_SECRET_KEY)
DEBUG = env_bool("MODELCVD_DEBUG", False)
# Production refuses to start with any embedded-only setting (core.checks.embedded_only_settings).
PRODUCTION = env_bool("MODELCVD_PRODUCTION", False)
ALLOWED_HOSTS = [
    h for h in env("MODELCVD_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]
# Public base URL, used in e-mails and links rendered outside a request.
BASE_URL = env("MODELCVD_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # serves the API docs from local static files, not a CDN
    "django_otp",  # sessions verified by a device; the devices are accounts' (secrets sealed)
    "modelcvd.core",
    "modelcvd.accounts",
    "modelcvd.policy",
    "modelcvd.artifacts",
    "modelcvd.reports",
    "modelcvd.cases",
    "modelcvd.notifications",
    "modelcvd.verification",
    "modelcvd.assessments",
    "modelcvd.credits",
    "modelcvd.metrics",
    "modelcvd.advisories",
    "modelcvd.web",
]

MIDDLEWARE = [
    "modelcvd.core.observability.RequestIdMiddleware",
    "modelcvd.core.middleware.BodySizeLimitMiddleware",
    "modelcvd.core.middleware.NulCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After OTPMiddleware: a session that owes a second factor is anonymous everywhere.
    "modelcvd.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "modelcvd.core.middleware.SecurityHeadersMiddleware",
    "modelcvd.core.middleware.ExtraMissingMiddleware",
]

ROOT_URLCONF = "modelcvd.urls"
WSGI_APPLICATION = "modelcvd.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "modelcvd.accounts.context.navigation",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'modelcvd.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A sync gunicorn worker serves one request at a time: keeping its connection saves a
    # PostgreSQL connection setup per request (several ms, a large share of a registry
    # search). Health checks replace a connection the server dropped (a restart, a failover)
    # before the next request or task uses it.
    DATABASES["default"]["CONN_MAX_AGE"] = int(env("MODELCVD_DB_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
    # two writers queue on busy_timeout instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:signin"
LOGIN_REDIRECT_URL = "policy:programs"
LOGOUT_REDIRECT_URL = "policy:programs"

# Password sign-in: after this many failures for one username (existing or not), or from one
# client address, within the window, further attempts are refused like a wrong password until
# the older failures leave the window. 0 turns a limit off.
SIGNIN_FAILURES_PER_USERNAME = int(env("MODELCVD_SIGNIN_FAILURES_PER_USERNAME", "5"))
SIGNIN_FAILURES_PER_IP = int(env("MODELCVD_SIGNIN_FAILURES_PER_IP", "30"))
SIGNIN_WINDOW_SECONDS = int(env("MODELCVD_SIGNIN_WINDOW_SECONDS", "900"))
# Behind a reverse proxy every request comes from the proxy: name the header it sets to the
# client address (e.g. X-Real-IP). Unset: the address of the TCP peer.
CLIENT_IP_HEADER = env("MODELCVD_CLIENT_IP_HEADER", "")
# The name authenticator apps show beside the account (in the otpauth:// setup URI).
OTP_TOTP_ISSUER = env("MODELCVD_TOTP_ISSUER", "modelcvd")

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies above this are answered 413 before any view runs.
MAX_REQUEST_BYTES = int(env("MODELCVD_MAX_REQUEST_BYTES", str(8 * 1024 * 1024)))
MAX_ATTACHMENT_BYTES = int(env("MODELCVD_MAX_ATTACHMENT_BYTES", str(5 * 1024 * 1024)))
# JSON request bodies and .json attachments nested deeper than this are refused (400 / 422)
# before anything parses them: parsers recurse per level (core/jsonbounds.py).
MAX_JSON_DEPTH = int(env("MODELCVD_MAX_JSON_DEPTH", "64"))
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES

# Sealing: the key-encryption key wraps every data key. From MODELCVD_KEK (base64, 32 bytes)
# or from the key file, created 0600 on first use.
KEY_FILE = Path(env("MODELCVD_KEY_FILE", str(DATA_DIR / "keys" / "kek.json")))
KEK_ENV = env("MODELCVD_KEK", "")

# Roots under which verification runs may load local model directories (hf:DIR targets).
MODEL_DIRS = [p for p in env("MODELCVD_MODEL_DIRS", str(DATA_DIR / "models")).split(":") if p]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Served over HTTPS (on by default when the base URL is https): Secure cookies, HSTS, and with
# PROXY_SSL_HEADER a redirect of plain HTTP. Production refuses to start without it unless
# MODELCVD_ALLOW_INSECURE_HTTP=1, which it then logs as a WARNING at every start.
TLS = env_bool("MODELCVD_TLS", BASE_URL.startswith("https://"))
ALLOW_INSECURE_HTTP = env_bool("MODELCVD_ALLOW_INSECURE_HTTP", False)
SESSION_COOKIE_SECURE = TLS
CSRF_COOKIE_SECURE = TLS
SECURE_HSTS_SECONDS = 31536000 if TLS else 0
# Behind a proxy that terminates TLS, Django sees plain HTTP (and so sends no HSTS): name the
# header the proxy sets to "https" (e.g. X-Forwarded-Proto; the proxy must overwrite any the
# client sent). Health probes and metrics scrapes stay reachable over plain HTTP.
PROXY_SSL_HEADER = env("MODELCVD_PROXY_SSL_HEADER", "")
if PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = TLS and bool(PROXY_SSL_HEADER)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

CELERY_BROKER_URL = env("CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'celery-broker.sqlite3'}")
CELERY_TASK_DEFAULT_QUEUE = "default"
# Verification runs go to their own queue, so GPU workers can take only those at scale.
CELERY_TASK_ROUTES = {"modelcvd.verification.tasks.*": {"queue": "verification"}}
CELERY_TASK_ALWAYS_EAGER = env_bool("MODELCVD_TASKS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Workers log through LOGGING below (JSON lines with the request id), not Celery's own setup.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A run of more trials than this is split into chunks of this size, each its own task, so a
# run spreads over every worker on its queue (0: one task per run).
VERIFICATION_CHUNK_TRIALS = int(env("MODELCVD_VERIFICATION_CHUNK_TRIALS", "50"))
# A run queued or running that stored no trial for this long is queued again (Celery beat,
# every minute); safe, since stored trials are skipped and each is stored once.
VERIFICATION_STALL_SECONDS = int(env("MODELCVD_VERIFICATION_STALL_SECONDS", "900"))
# Periodic work, run by the one `celery beat` of an installation (docs/deploy.md). Here, not
# in celery.py: touching app.conf there at import would load these settings before
# `modelcvd serve --production` has set MODELCVD_PRODUCTION.
CELERY_BEAT_SCHEDULE = {
    "verification-resume-stalled": {
        "task": "modelcvd.verification.tasks.resume_stalled_runs",
        "schedule": 60.0,
    },
    # Flag breached case deadlines and escalate each breach level once.
    "check-deadlines": {"task": "modelcvd.cases.tasks.check_deadlines", "schedule": 300.0},
    # Embargoes whose public date has come exit.
    "expire-embargoes": {
        "task": "modelcvd.cases.tasks.expire_embargoes",
        "schedule": 300.0,
    },
}
# Runs on local model directories (hf:) go to the `verification-gpu` queue, which only GPU
# workers consume; off in the embedded default, whose one worker has no such queue.
VERIFICATION_GPU_QUEUE = env_bool("MODELCVD_VERIFICATION_GPU_QUEUE", False)
# At scale (docs/deploy.md): Redis as broker and result store. A task a dead worker held
# unacknowledged goes back to its queue after the visibility timeout; it must exceed the
# longest task (one chunk of a run), or a slow task would be started twice.
CELERY_VISIBILITY_TIMEOUT = int(env("MODELCVD_CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        # Look for overdue unacknowledged tasks every few seconds (kombu's default sweep runs
        # about every 100 s); one cheap ZRANGE per sweep.
        "unacked_restore_interval": min(10, max(1, CELERY_VISIBILITY_TIMEOUT // 4)),
        "unacked_restore_throttle": 1,
    }
    CELERY_RESULT_BACKEND = CELERY_RESULT_BACKEND or CELERY_BROKER_URL
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
    CELERY_BROKER_CONNECTION_MAX_RETRIES = None
    # A task running when the broker connection drops goes on to its end and is acknowledged
    # on the new connection; cancelling it instead can acknowledge its message while the
    # broker is away (measured in tests/scale: a chunk was lost that way).
    CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False

EMAIL_BACKEND = env("MODELCVD_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
EMAIL_HOST = env("MODELCVD_EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(env("MODELCVD_EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = env("MODELCVD_FROM_EMAIL", "modelcvd@localhost")

# Health, logs and metrics (docs/deploy.md). Logs: one JSON object a line with the request id
# ("text" for people at a terminal); production defaults to JSON.
LOG_FORMAT = env("MODELCVD_LOG_FORMAT", "json" if PRODUCTION else "text")
# /metrics answers requests from loopback, or with `Authorization: Bearer <token>` when set.
METRICS_TOKEN = env("MODELCVD_METRICS_TOKEN", "")
# Several gunicorn workers: a shared directory where each process writes its metrics
# (prometheus_client's multi-process mode); read by the name the library uses.
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", "")
# Deadlines: a breached deadline escalates to the triagers at once, to the vendor after one
# step, to the coordinators (admins) after two (cases/services/deadlines.py).
ESCALATION_STEP_HOURS = int(env("MODELCVD_ESCALATION_STEP_HOURS", "48"))
# Signed webhooks: attempts per delivery, and the first retry delay (doubled each time).
WEBHOOK_MAX_ATTEMPTS = int(env("MODELCVD_WEBHOOK_MAX_ATTEMPTS", "6"))
WEBHOOK_BACKOFF_SECONDS = int(env("MODELCVD_WEBHOOK_BACKOFF_SECONDS", "30"))
WEBHOOK_TIMEOUT_SECONDS = int(env("MODELCVD_WEBHOOK_TIMEOUT_SECONDS", "10"))
# Outbound requests to URLs others name (webhooks, `openai:` targets) go through core.egress:
# non-public addresses are refused unless listed here (CIDR, address, IP:PORT, NAME[:PORT]).
EGRESS_ALLOW = [e for e in env("MODELCVD_EGRESS_ALLOW", "").replace(",", " ").split() if e]
EGRESS_TIMEOUT_SECONDS = float(env("MODELCVD_EGRESS_TIMEOUT_SECONDS", "120"))
EGRESS_MAX_RESPONSE_BYTES = int(env("MODELCVD_EGRESS_MAX_RESPONSE_BYTES", str(4 * 1024 * 1024)))
# A program's security.txt without a pinned Expires expires this many days after it is served.
SECURITY_TXT_DAYS = int(env("MODELCVD_SECURITY_TXT_DAYS", "180"))
# Advisory exports: who publishes them (CSAF publisher). CVE records are written only for CVE
# ids this instance's CNA assigned, as that CNA: its CVE Services orgId (UUID) and shortName.
# Unset (the default): this instance is no CNA, and no CVE record is written.
PUBLISHER_NAME = env("MODELCVD_PUBLISHER_NAME", "modelcvd")
CVE_CNA_ORG_ID = env("MODELCVD_CVE_CNA_ORG_ID", "").strip()
CVE_CNA_SHORT_NAME = env("MODELCVD_CVE_CNA_SHORT_NAME", "").strip()
# The CSAF trusted provider (/.well-known/csaf/): the instance's OpenPGP key lives in its own
# GnuPG home (0700, secret key 0600, created on first use), never in the database; signatures
# are made once per document and kept in a cache keyed by key and document digest.
OPENPGP_HOME = Path(env("MODELCVD_OPENPGP_HOME", str(DATA_DIR / "keys" / "openpgp")))
CSAF_SIGNATURE_DIR = Path(
    env("MODELCVD_CSAF_SIGNATURE_DIR", str(DATA_DIR / "cache" / "csaf-signatures"))
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "modelcvd.core.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env("MODELCVD_LOG_LEVEL", "WARNING")},
    # One line per HTTP call to a model endpoint would drown the rest at INFO.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
WHITENOISE_USE_FINDERS = (
    True  # serve app static files without collectstatic in the embedded default
)
