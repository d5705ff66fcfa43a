"""Touchstone settings: one module, every deployment knob read from the environment.

Defaults are for a developer's laptop (SQLite and a file-based Celery broker under ``var/``);
tests and production set ``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TOUCHSTONE_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_duration(name: str, default: str) -> timedelta:
    """A positive ISO-8601 duration (``P30D``, ``PT2M``): Django's parser also takes ``30`` (as
    seconds) and ``-P1D``, which as an appeal window would make every case due at once."""
    raw = env_str(name, default).strip()
    parsed = parse_duration(raw) if raw.upper().startswith("P") else None
    if parsed is None or parsed <= timedelta(0):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a positive ISO-8601 duration such as P30D or PT2M"
        )
    return parsed


_PG_MEMORY_UNITS_KB = {"kB": 1, "MB": 1024, "GB": 1024 * 1024}


def env_pg_memory(name: str, default: str) -> str:
    """A PostgreSQL ``work_mem`` size (``64kB`` to ``2047GB``, units kB, MB, GB), checked here:
    a value the server refuses would fail the command that sets it, not start-up."""
    raw = env_str(name, default).strip()
    match = re.fullmatch(r"([1-9][0-9]{0,9})(kB|MB|GB)", raw)
    kilobytes = int(match[1]) * _PG_MEMORY_UNITS_KB[match[2]] if match else 0
    if not 64 <= kilobytes <= 2147483647:
        raise ImproperlyConfigured(
            f"{name} must be a size from 64kB to 2047GB such as 64MB or 1GB (kB, MB, GB), "
            f"not {raw!r}"
        )
    return raw


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEV_SECRET_KEY = "dev-insecure-touchstone-secret-key-change-me-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
if not DEBUG and SECRET_KEY.strip() in ("", DEV_SECRET_KEY):
    # The key signs sessions, CSRF tokens and the sellers' appeal links, and keys the payment
    # hashes: with the published development key anyone could forge them.
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random string of your own when DEBUG is off"
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "django_fsm",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sellers",
    "listings",
    "counterfeits",
    "appeals",
    "referrals",
    "portal",
    "workbench",
    "outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a body (sessions, CSRF): an oversized upload is refused unread.
    "config.middleware.RefuseOversizedUploadsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.middleware.RejectNullCharactersMiddleware",
]

ROOT_URLCONF = "config.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'touchstone.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for a writer instead of failing at once.
    # IMMEDIATE takes the write lock when a transaction begins: a deferred one that read first
    # and then writes cannot wait for another writer and fails at once with "database is
    # locked". WAL lets pages read while a worker writes.
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# The hottest hand-written statements (token lookup, report intake, outbox claim) are prepared
# once per connection on PostgreSQL (config.rows.execute_prepared). Off behind a pooler in
# transaction mode (PgBouncer's, any version: its max_prepared_statements keeps protocol-level
# statements only, not SQL PREPARE/EXECUTE, which is what these are).
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [d for d in [BASE_DIR / "static"] if d.exists()] + [
    # npm packages (package.json, `npm ci`), served locally under a prefix: never from a CDN.
    (prefix, d)
    for prefix, d in [
        ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
        ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ]
    if d.exists()
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Uploads: evidence files are capped; anything bigger is refused before it is read.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# E-mail through Django 6.1's MAILERS (EMAIL_BACKEND and the EMAIL_HOST... settings are
# deprecated). The environment keeps the familiar names. A developer's laptop prints mail to the
# console; with DEBUG off the default is SMTP, so a deployment never drops notices silently
# (``check --deploy`` refuses a console backend there: mail.E001).
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG else _SMTP_BACKEND
)
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND}}
if _EMAIL_BACKEND == _SMTP_BACKEND:
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 0) or None,  # None: 25, or 587 with TLS, 465 with SSL
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        # A notice task must not hang on a dead mail server; it retries on OSError.
        "timeout": env_int("EMAIL_TIMEOUT", 10),
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "trust-and-safety@touchstone.example")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# --- Touchstone domain knobs -------------------------------------------------------------------
APPEAL_WINDOW = env_duration("APPEAL_WINDOW", "P30D")
# EU DSA Art. 20: complaints stay possible for six months after the decision.
COMPLAINT_WINDOW = env_duration("COMPLAINT_WINDOW", "P183D")
# Notifier quality (DSA Art. 22/23): the look-back for acceptance rates and misuse measures.
NOTIFIER_LOOKBACK = env_duration("NOTIFIER_LOOKBACK", "P183D")
UNFOUNDED_WARNING_AFTER = env_int("UNFOUNDED_WARNING_AFTER", 3)
UNFOUNDED_SUSPENSION_AFTER = env_int("UNFOUNDED_SUSPENSION_AFTER", 2)
INTAKE_SUSPENSION_PERIOD = env_duration("INTAKE_SUSPENSION_PERIOD", "P30D")
SIGNING_KEY_PATH = Path(env_str("SIGNING_KEY_PATH", str(VAR_DIR / "signing_key.pem")))
# Payment accounts are kept only as HMAC-SHA256 under this key (never in clear). Changing it
# orphans every stored payment hash: set it once per deployment, apart from SECRET_KEY rotation.
IDENTITY_HASH_KEY = env_str(
    "IDENTITY_HASH_KEY",
    hashlib.sha256(b"touchstone.identity/" + SECRET_KEY.encode()).hexdigest(),
)
# Cases per sweep transaction: each batch costs ~15 statements and a durable commit whatever its
# size, which at 200 was a third of the sweep's time; 1,000 hold their locks for about a second.
SWEEP_BATCH_SIZE = env_int("SWEEP_BATCH_SIZE", 1000)
# Worker processes that sweep at once when more than a batch is due: the beat task queues
# SWEEP_WORKERS - 1 helper tasks beside itself (claims skip locked cases, so they share the work).
# Default: the core count, which is also a Celery worker's default pool size. PostgreSQL only.
SWEEP_WORKERS = env_int("SWEEP_WORKERS", os.cpu_count() or 1)
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 60)
# PostgreSQL work_mem for verify_audit_chain's one statement (a parallel hash may take it x
# hash_mem_multiplier x 3 processes): 128MB keeps ~5M events' successor join in memory; a small
# database server may want less (it then batches through temporary files: slower, bounded).
VERIFY_WORK_MEM = env_pg_memory("VERIFY_WORK_MEM", "128MB")
DELIVERY_TIMEOUT_SECONDS = env_int("DELIVERY_TIMEOUT_SECONDS", 10)
DELIVERY_MAX_RETRIES = env_int("DELIVERY_MAX_RETRIES", 6)
DELIVERY_BACKOFF_SECONDS = env_int("DELIVERY_BACKOFF_SECONDS", 30)
# The longest wait between two delivery attempts, however many retries came before.
DELIVERY_BACKOFF_MAX_SECONDS = env_int("DELIVERY_BACKOFF_MAX_SECONDS", 3600)
# Push webhooks are https only; on, plain http too (local receivers in tests and `make chaos`).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
# Requests per API client (all its tokens together); DRF answers 429 with Retry-After beyond it.
AUTHORITY_THROTTLE_RATE = env_str("AUTHORITY_THROTTLE_RATE", "600/min")
# How long an Idempotency-Key's first answer is replayed; older records are purged (beat).
IDEMPOTENCY_TTL = env_duration("IDEMPOTENCY_TTL", "P1D")

# Reverse proxies in front of the app that append to X-Forwarded-For (a TLS terminator, a load
# balancer): the client is the N-th entry from the right. 0: clients reach gunicorn directly and
# the header, theirs to forge, is ignored. Login lockout, reset budgets, the access log and DRF's
# throttles all count by it (config/clients.py).
TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
if TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES must be 0 or more, not {TRUSTED_PROXIES}")

# --- Cache (throttling counters): shared Redis in production, per-process memory otherwise ----
_CACHE_URL = env_str("CACHE_URL", "") or env_str("REDIS_URL", "")
if _CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _CACHE_URL,
            "KEY_PREFIX": "touchstone",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ------------------------------------------------------------------------------------
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("out", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Deployments sharing one Redis can keep apart by queue; the test suite uses one per process.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not finished this long after it was published is published again (the task is
# idempotent); the relay looks for such messages every OUTBOX_RELAY_SECONDS.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", 15)
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {
        "task": "outbox.tasks.relay_outbox",
        "schedule": float(OUTBOX_RELAY_SECONDS),
    },
    "purge-outbox": {"task": "outbox.tasks.purge_outbox", "schedule": 3600.0},
    "sweep-deadlines": {
        "task": "counterfeits.tasks.sweep_deadlines",
        "schedule": float(SWEEP_INTERVAL_SECONDS),
    },
    "purge-idempotency-records": {
        "task": "counterfeits.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "referrals.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Unset, DRF would key throttles on the whole (forgeable) X-Forwarded-For header.
    "NUM_PROXIES": TRUSTED_PROXIES,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Touchstone API",
    "DESCRIPTION": (
        "Counterfeit-seller cases from brand report to law-enforcement referral. "
        "Authorities pull signed referral packets; analysts drive cases; brand owners file reports."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the generic 400/401/403/404 it can answer (config/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.add_generic_error_responses",
    ],
    # Several models have a "status"/"outcome": name each choice set after its meaning.
    "ENUM_NAME_OVERRIDES": {
        "CaseStateEnum": "counterfeits.choices.CaseState",
        "ReportStatusEnum": "counterfeits.choices.ReportStatus",
        "SellerStatusEnum": "sellers.choices.SellerStatus",
        "ListingStatusEnum": "listings.choices.ListingStatus",
        "ReferralStatusEnum": "referrals.choices.ReferralStatus",
        "AppealOutcomeEnum": "appeals.choices.AppealOutcome",
        "AttemptOutcomeEnum": "referrals.choices.AttemptOutcome",
        "EvidenceKindEnum": "counterfeits.choices.EvidenceKind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Content Security Policy (Django's middleware): scripts and styles only from our own static
# files, never inline; nothing from another origin; no framing, no plugins, no form hijacking.
# A view may set a stricter header of its own (evidence files are served sandboxed).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto; SECURE_SSL_REDIRECT=false for
    # plain-HTTP setups (a local docker compose). The load balancer's health check stays on HTTP.
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
