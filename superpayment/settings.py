"""SuperPayment settings, read once from the environment (see the README's configuration table).

DJANGO_ENV selects the mode: `development` (default), `test`, or `production`. Production refuses
to start with DEBUG on, without a real SECRET_KEY, or without ALLOWED_HOSTS.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

from superpayment.env import env_bool, env_int, env_list, env_str
from superpayment.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SUPERPAYMENT_VAR_DIR") or BASE_DIR / ".var")

# --- mode -------------------------------------------------------------------------------------
DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production; got {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"
TESTING = DJANGO_ENV == "test"

# A running `make run` leaves the addresses of its embedded servers here for other commands.
if DJANGO_ENV == "development" and (VAR_DIR / "run.env").exists():
    for _line in (VAR_DIR / "run.env").read_text().splitlines():
        _name, _, _value = _line.partition("=")
        os.environ.setdefault(_name, _value)

# --- security ---------------------------------------------------------------------------------
# Off unless asked for: `make run` shows the product's own error pages, as production does.
DEBUG = env_bool("DEBUG", default=False)
INSECURE_SECRET_PREFIX = "django-insecure-"  # noqa: S105 - a marker, not a secret


def _development_secret_key() -> str:
    """One random key per checkout, kept in .var/ so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(INSECURE_SECRET_PREFIX + secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("SECRET_KEY") or ("" if PRODUCTION else _development_secret_key())
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")


def check_production_settings() -> None:
    problems = []
    if DEBUG:
        problems.append("DEBUG is on")
    if not SECRET_KEY or SECRET_KEY.startswith(INSECURE_SECRET_PREFIX) or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY is missing, a development key, or shorter than 50 characters")
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty")
    if not env_str("DATABASE_URL"):
        problems.append("DATABASE_URL is not set")
    if not env_str("REDIS_URL"):
        problems.append("REDIS_URL is not set")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems) + ".")


if PRODUCTION:
    check_production_settings()
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The load balancer probes /healthz and /readyz over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# django-csp 4 (superpayment/security.py): the policy of every page that sets none itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp_constants.NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- applications and tenancy -------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "superpayment.apps.PlatformAdminConfig",  # django.contrib.admin with the MFA-only site
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",  # signed-in sessions, listed and ended on the account pages
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "billing",
    "webhooks.queue",  # the public due-delivery queue; webhooks itself is a tenant app
    "django_prometheus",
    "duework",  # the public index of each merchant's next due periodic work
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "vouchers",
    "checkout",
    "webhooks",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Merchant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New merchants are cloned from this schema (migrated like any tenant), not migrated one by one.
TENANT_BASE_SCHEMA = "merchant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# `SET search_path` once per tenant switch instead of before every cursor (a round trip per
# query). Safe because the backend forgets what it set on ROLLBACK and ROLLBACK TO SAVEPOINT,
# which revert a SET (tests/tenants/test_search_path.py).
TENANT_LIMIT_SET_CALLS = True
# Processes that migrate merchant schemas in parallel in `setup_platform` (--processes).
MIGRATION_PROCESSES = env_int("MIGRATION_PROCESSES", 2)
TENANT_DOMAIN_SUFFIX = env_str("TENANT_DOMAIN_SUFFIX", "merchants.superpayment.localhost")

MIDDLEWARE = [
    "superpayment.metrics.MetricsMiddleware",  # GET /metrics, before Host validation
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "superpayment.logs.RequestContextMiddleware",
    "tenants.middleware.PublicSchemaMiddleware",
    "superpayment.api.middleware.JsonErrorMiddleware",  # /v1, widget, frame: never HTML
    "django.middleware.security.SecurityMiddleware",
    "superpayment.lean.LeanRequestStart",  # the payment frame's POSTs skip to LeanRequestEnd
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.sessions.SessionActivityMiddleware",  # "last active" of each signed-in session
    "superpayment.lean.LeanRequestEnd",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "superpayment.security.NoStoreForSignedInMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "superpayment.urls"
WSGI_APPLICATION = "superpayment.wsgi.application"
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
                "tenants.context_processors.portal",
            ],
            "builtins": ["superpayment.templatetags"],
        },
    }
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/superpayment"


def _database(url: str) -> dict:
    """One DATABASES entry; options in the URL (`?sslmode=verify-full`) are kept."""
    parsed = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    return {
        **parsed,
        "ENGINE": "superpayment.postgresql_backend",  # django-tenants', schema-scoped table list
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            **parsed.get("OPTIONS", {}),
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5),
            # Django turns psycopg's statement preparation off (None), which also ignores an
            # explicit `execute(..., prepare=True)`. A threshold no query reaches keeps Django's
            # queries unprepared but lets the hot paths that ask for it (vouchers/locks.py) run
            # prepared: no parse and plan per payment. Needs session pooling (docs/deploying.md).
            "prepare_threshold": 2**31 - 1,
        },
    }


DATABASES = {"default": _database(DATABASE_URL)}
# Optional read replica; only reads inside superpayment.db_router.reporting_reads() use it.
REPLICA_DATABASE_URL = env_str("REPLICA_DATABASE_URL")
if REPLICA_DATABASE_URL:
    # Test runs create no database for it: it reads the primary's test database.
    DATABASES["replica"] = {**_database(REPLICA_DATABASE_URL), "TEST": {"MIRROR": "default"}}
# Order matters: Django takes the first router's answer that is not None (see db_router.py).
DATABASE_ROUTERS = [
    "django_tenants.routers.TenantSyncRouter",
    "superpayment.db_router.ReplicaRouter",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, Redis and Celery ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or "redis://127.0.0.1:6379/0"
CACHES = {
    # Tenant data: keys carry the schema name so tenants never read each other's entries.
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": "sp",
    },
    # Platform-wide counters (rate limits per IP, login throttles): never tenant-prefixed.
    "global": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "spg",
    },
}

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only after it ran, and is redelivered if its worker dies mid-way;
# so every task must be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged task after this many seconds; longer than any task runs.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_EXPIRES = 24 * 3600
# Nothing reads a task's return value: no result keys in Redis (one per task otherwise).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat's scheduler touches HEARTBEAT_FILE each tick (its liveness probe); ticks at least every 10 s.
CELERY_BEAT_SCHEDULER = "superpayment.celery:HeartbeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 10
CELERY_BEAT_SCHEDULE = {
    "billing-invoice-run-monthly": {
        "task": "billing.tasks.invoice_run_previous_month",
        "schedule": crontab(minute=0, hour=1, day_of_month=1),  # 01:00 UTC on the 1st
    },
    # Per-merchant periodic work (checkout sessions and holds to expire, vouchers to expire, the
    # nightly liability snapshot): a task for each merchant with work due in the public index
    # (duework), none for idle merchants.
    "due-work-tick": {
        "task": "duework.tasks.tick",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    "idempotency-keys-purge": {
        "task": "tenants.tasks.idempotency_keys_purge",
        "schedule": 3600.0,
    },
}

# --- metrics ----------------------------------------------------------------------------------
# GET /metrics (Prometheus) needs "Authorization: Bearer <METRICS_TOKEN>"; unset, it answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Migrations per database as metrics would query every database at each start: off.
PROMETHEUS_EXPORT_MIGRATIONS = False

# --- webhooks ---------------------------------------------------------------------------------
# On: webhook URLs may be http:// and reach private, loopback and link-local addresses (local
# development; `make run` turns it on). Off (default): https only, public addresses only.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", default=False)
# Deliveries attempted at once by one `manage.py webhooks_dispatch` process (threads: an attempt
# mostly waits on the merchant's server). Each thread holds a database connection.
WEBHOOKS_DISPATCH_THREADS = env_int("WEBHOOKS_DISPATCH_THREADS", 8)

# --- stripe / billing ---------------------------------------------------------------------------
# Unset key: invoices are produced and finalized locally and marked "not sent to Stripe".
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "")
# Another API base (docker-compose points it at stripe-mock); empty: Stripe's own.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Invoice runs finalize their drafts at once (on), or leave them for finance to finalize (off).
BILLING_AUTO_FINALIZE = env_bool("BILLING_AUTO_FINALIZE", default=True)
# The issuer printed on commission invoices.
BILLING_COMPANY_NAME = env_str("BILLING_COMPANY_NAME", "SuperPayment")
BILLING_COMPANY_ADDRESS = env_str("BILLING_COMPANY_ADDRESS", "")
BILLING_COMPANY_VAT_ID = env_str("BILLING_COMPANY_VAT_ID", "")
# The issuer's country decides the VAT on each invoice (billing/vat.py); it must be in its table.
BILLING_COMPANY_COUNTRY = env_str("BILLING_COMPANY_COUNTRY", "DE").upper()
# Where merchants pay by bank transfer (printed on every invoice when set); finance marks such
# invoices paid in the finance console.
BILLING_BANK_IBAN = env_str("BILLING_BANK_IBAN", "")
BILLING_BANK_BIC = env_str("BILLING_BANK_BIC", "")

# Checked when the billing app is ready (billing/apps.py): a bad value stops the process.

# --- checkout ---------------------------------------------------------------------------------
# How long a checkout session stays open unless its creator says otherwise (5 min to 24 h).
CHECKOUT_SESSION_TTL_SECONDS = env_int("CHECKOUT_SESSION_TTL_SECONDS", 30 * 60)

# --- auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
# Times with their zone wherever Django formats them (the admin console): superpayment/formats.
FORMAT_MODULE_PATH = ["superpayment.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "superpayment" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # served from the finders; silences whitenoise

# --- accounts (allauth) -------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:home"
ACCOUNT_ADAPTER = "tenants.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Sign-in and password-reset answers never tell whether an account exists.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SuperPayment] "
# allauth's rate limits (login failures, sign-ups, resets, confirmations). They live in the default
# cache; account pages always run in the public schema, so the keys are global, never per tenant.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "SuperPayment"
MFA_RECOVERY_CODE_COUNT = 10
# Each signed-in session's device, IP address and last activity (tenants/sessions.py records it
# at most once a minute per session, not on every request).
USERSESSIONS_TRACK_ACTIVITY = True

# --- email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "superpayment.mail.DevelopmentEmailBackend"
)
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH") or VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SuperPayment <no-reply@superpayment.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- merchant API (DRF + drf-spectacular) -------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],  # no browsable API
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "superpayment.api.pagination.CursorPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "superpayment.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "superpayment.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Throttles, when added, count in the `global` cache (never tenant-prefixed).
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SuperPayment API",
    "DESCRIPTION": (
        "Voucher payments for your shop. Authenticate with your secret key "
        "(`Authorization: Bearer sk_test_…`). Every error answers one JSON envelope: "
        '`{"error": {"type", "code", "message", "param", "errors"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's assets come from drf-spectacular-sidecar's static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "MerchantStatusEnum": "tenants.models.Merchant.Status",
        "ErrorTypeEnum": "superpayment.api.errors.ERROR_TYPES",
        "VoucherStatusEnum": "vouchers.models.Voucher.Status",
        "VoucherJobStatusEnum": "vouchers.job_models.VoucherJob.Status",
        "VoucherStatusChangeEnum": "vouchers.api.serializers.STATUS_CHANGES",
    },
}

# --- logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "console")
LOGGING_CONFIG = None
logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
