"""NexusCore settings: one file, driven by environment variables.

The defaults make a fresh clone run locally (`make run`): mail written to `.data/outbox/`, DEBUG
on, and the database that DATABASE_URL names (manage.py and the tests start an embedded
PostgreSQL under `.data/` and name it when nothing else is set). Production sets
NEXUSCORE_ENV=production and the variables listed in README.md; `manage.py check --deploy` then
reports nothing.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from pythonjsonlogger.core import RESERVED_ATTRS as RESERVED_LOG_RECORD_ATTRS

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("NEXUSCORE_DATA_DIR", BASE_DIR / ".data"))


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


ENVIRONMENT = os.environ.get("NEXUSCORE_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"

if PRODUCTION:
    SECRET_KEY = os.environ["SECRET_KEY"]
else:
    SECRET_KEY = os.environ.get(
        "SECRET_KEY", "insecure-local-development-key-never-used-in-production"
    )
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

# Hosts: the public site answers on the base domain (and localhost / 127.0.0.1); every
# organisation answers on <slug>.<base domain>.
BASE_DOMAIN = os.environ.get("NEXUSCORE_BASE_DOMAIN", "localhost")
PUBLIC_HOSTS = sorted({BASE_DOMAIN, "localhost", "127.0.0.1"})
ALLOWED_HOSTS = [*PUBLIC_HOSTS, f".{BASE_DOMAIN}", *env_list("NEXUSCORE_EXTRA_HOSTS")]
# Absolute address of the public site, for links in mail and tasks (no request at hand).
SITE_URL = os.environ.get("NEXUSCORE_SITE_URL", "http://localhost:8000").rstrip("/")
SITE_NAME = "NexusCore"

# ---------------------------------------------------------------------------------------------
# Applications. Shared apps live in the public schema; tenant apps get tables in every
# organisation's schema. Each app's docstring says why it sits where it does.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "nexuscore.accounts",
    "nexuscore.audit",
    "nexuscore.health",
    "nexuscore.mail",
    "nexuscore.billing",
    "nexuscore.quotas",
    "nexuscore.leads",
    "nexuscore.privacy",
    # No models: installed for their tasks' schedules (nexuscore/lib/schedules.py) and the demo
    # data commands.
    "nexuscore.onboarding",
    "nexuscore.demo",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "nexuscore.sessions",
    "django.contrib.messages",
    "nexuscore.apps.StaticFilesConfig",
    "nexuscore.admin.NexusCoreAdminConfig",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "crispy_forms",
    "crispy_tailwind",
    "django_q",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    # Sessions are stored per schema: a session made on one organisation's host does not
    # exist on another's, whatever cookie a browser presents.
    "nexuscore.sessions",
    "nexuscore.audit",
    "nexuscore.leads",
    "nexuscore.privacy",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "nexuscore.urls_public"
ROOT_URLCONF = "nexuscore.urls_tenant"
DEFAULT_NOT_FOUND_TENANT_VIEW = "nexuscore.views.unknown_host"
TENANT_LIMIT_SET_CALLS = True
# Seconds a process keeps a host -> organisation lookup before asking the database again.
TENANT_CACHE_SECONDS = int(os.environ.get("NEXUSCORE_TENANT_CACHE_SECONDS", "30"))
# Pre-migrated schemas kept ready so that creating an organisation is a rename, not a migrate.
SCHEMA_POOL_SIZE = int(os.environ.get("NEXUSCORE_SCHEMA_POOL_SIZE", "3"))

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # The request id (X-Request-ID) and one log line per request (nexuscore/lib/logs.py); after
    # WhiteNoise so static files are not logged.
    "nexuscore.lib.logs.RequestLogMiddleware",
    # Counts requests by view name, their latency and queries (nexuscore/lib/metrics.py); after
    # WhiteNoise so static files are not requests.
    "nexuscore.lib.metrics.RequestMetricsMiddleware",
    "nexuscore.marketing.cache.VisitorPagesMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "nexuscore.sessions.middleware.SessionUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.MembershipMiddleware",
    "nexuscore.lib.htmx.HtmxMessagesMiddleware",
]

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
                "django.template.context_processors.csp",
                "nexuscore.context_processors.site",
            ],
            "builtins": ["nexuscore.lib.icons"],  # {% icon %} in every template
        },
    },
]

WSGI_APPLICATION = "nexuscore.wsgi.application"
ASGI_APPLICATION = "nexuscore.asgi.application"

# ---------------------------------------------------------------------------------------------
# Database: DATABASE_URL alone. In development, manage.py and the tests start the embedded
# PostgreSQL under .data/postgres and set it (nexuscore/embedded_postgres.py, a development
# dependency that the production image does not have).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set. `make run`, `make test` and manage.py set it to the embedded "
        "PostgreSQL in development; elsewhere, point it at your PostgreSQL server."
    )
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        # django-tenants' backend, sending SET search_path only when the schema changes.
        engine="tenants.postgresql_backend",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
# Tests build their own database; a different name lets two test runs share one server.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("NEXUSCORE_TEST_DATABASE", "test_nexuscore")}
# A socket directory given as ?host=... belongs in HOST, where Django's test runner looks too.
if not DATABASES["default"]["HOST"] and "host" in DATABASES["default"].get("OPTIONS", {}):
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache lives in the database so that every web process and the worker share it (rate
# limits count across processes); nothing on a hot path reads it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "nexuscore_cache",
        # Keys carry the schema name, so one organisation never reads another's entries; rate
        # limits are counted across every host (nexuscore/lib/cache.py).
        "KEY_FUNCTION": "nexuscore.lib.cache.make_key",
        "REVERSE_KEY_FUNCTION": "nexuscore.lib.cache.reverse_key",
    },
    # Each process's own memory, for figures that may be a minute old and cost more to read
    # from the database cache than to keep (the dashboard's). Never for anything that must be
    # the same in every process at once: sessions, memberships, roles, limits.
    "local": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "nexuscore-local",
        "KEY_FUNCTION": "nexuscore.lib.cache.make_key",
        "REVERSE_KEY_FUNCTION": "nexuscore.lib.cache.reverse_key",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}

# ---------------------------------------------------------------------------------------------
# Identity: our User, signed in with email through django-allauth.
# On an organisation's host the first backend alone decides, and only for its members
# (nexuscore/accounts/backends.py); the public host uses the other two.
AUTHENTICATION_BACKENDS = [
    "nexuscore.accounts.backends.OrganisationMembersBackend",
    "nexuscore.accounts.backends.PasswordBackend",
    "nexuscore.accounts.backends.AccountBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
ACCOUNT_ADAPTER = "nexuscore.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "nexuscore.accounts.forms.SignupDetailsForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[NexusCore] "
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Verification is mandatory before anyone can sign in, so the risk this guards against (turning
# on two-factor before verifying) cannot arise; without it people with 2FA cannot change email.
MFA_ALLOW_UNVERIFIED_EMAIL = True
MFA_TOTP_ISSUER = "NexusCore"

SESSION_ENGINE = "nexuscore.sessions.store"  # the session row comes with its user
SESSION_COOKIE_NAME = "nexuscore_session"
SESSION_COOKIE_DOMAIN = None  # host-only: a cookie set on acme.<domain> stays there
CSRF_COOKIE_DOMAIN = None
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
HANDOVER_MAX_AGE_SECONDS = 60

# How many proxies (load balancers) in front of the web processes append to X-Forwarded-For;
# 0 when browsers reach gunicorn directly. Every per-address limit reads the client's address
# through nexuscore.lib.ratelimit.client_address, allauth's included.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

# ---------------------------------------------------------------------------------------------
# Mail: local runs write every message to .data/outbox/ and the console. Production names any
# django-anymail backend in EMAIL_BACKEND (for example anymail.backends.sendgrid.EmailBackend)
# and its key in EMAIL_API_KEY.
MAILERS = {
    "default": {
        "BACKEND": os.environ.get("EMAIL_BACKEND", "nexuscore.lib.mail.OutboxEmailBackend"),
        "OPTIONS": {"api_key": os.environ["EMAIL_API_KEY"]}
        if os.environ.get("EMAIL_API_KEY")
        else {},
    }
}
EMAIL_OUTBOX_DIR = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "NexusCore <hello@nexuscore.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where contact-form enquiries go; empty: the DEFAULT_FROM_EMAIL address.
NEXUSCORE_SALES_EMAIL = os.environ.get("NEXUSCORE_SALES_EMAIL", "")

# ---------------------------------------------------------------------------------------------
# Tasks: django-q2 with the ORM broker in the same database.
Q_CLUSTER = {
    "name": "nexuscore",
    "orm": "default",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # timeout shorter than retry, so a slow task is never delivered twice while running; a
    # task whose worker died is delivered again `retry` seconds after it was taken.
    "timeout": int(os.environ.get("Q_TIMEOUT", "120")),
    "retry": int(os.environ.get("Q_RETRY", "180")),
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 1000,
    "sync": env_bool("Q_SYNC", default=False),
    "poll": 0.5,
}
WORKER_HEARTBEAT_MAX_AGE_SECONDS = 150

# ---------------------------------------------------------------------------------------------
# Metrics: Prometheus text at /metrics on the public host, for a request with this bearer token
# or from one of these addresses or networks (nexuscore/lib/metrics.py); neither set: refused.
# PROMETHEUS_MULTIPROC_DIR (read by prometheus-client itself) adds up gunicorn's workers.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS")

# ---------------------------------------------------------------------------------------------
# Internationalisation: Singapore English, times stored in UTC and shown in Asia/Singapore.
LANGUAGE_CODE = "en-sg"
TIME_ZONE = "Asia/Singapore"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Static and uploaded files.
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic's output, served by WhiteNoise in production; local runs serve static/ directly.
STATIC_ROOT = BASE_DIR / "staticfiles" if PRODUCTION else None
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"  # files of each organisation under media/<schema>/
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# With a bucket named, stored files go to it, under each organisation's schema
# (nexuscore/lib/storage.py). Objects are private: no ACL is sent unless AWS_DEFAULT_ACL says so
# (buckets made since 2023 refuse every ACL but bucket-owner-full-control), and they are reached
# only through URLs signed for minutes. Credentials: AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, or the machine's role, as boto3 finds them.
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "nexuscore.lib.storage.OrganisationS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": os.environ.get("AWS_S3_REGION_NAME", "ap-southeast-1"),
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "location": os.environ.get("AWS_LOCATION", ""),
            "default_acl": os.environ.get("AWS_DEFAULT_ACL") or None,
            "querystring_auth": True,
            "querystring_expire": 300,  # as nexuscore.lib.storage.SIGNED_URL_SECONDS
            "signature_version": "s3v4",
            "file_overwrite": False,  # a taken name gets a suffix, as on the local disk
            "max_memory_size": 8 * 1024 * 1024,  # a larger file read back spills to a temp file
        },
    }
WHITENOISE_USE_FINDERS = not PRODUCTION

CRISPY_ALLOWED_TEMPLATE_PACKS = "tailwind"
CRISPY_TEMPLATE_PACK = "tailwind"
MESSAGE_TAGS = {40: "error"}

# ---------------------------------------------------------------------------------------------
# Security. The content security policy allows no inline script or style; forms may post to
# the organisation hosts because signing in hands a person over to one.
_scheme = "https" if PRODUCTION else "http"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [
        CSP.SELF,
        f"{_scheme}://{BASE_DOMAIN}:*",
        f"{_scheme}://*.{BASE_DOMAIN}:*",
        # The billing page's forms redirect to Stripe Checkout and the Customer Portal.
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS += [f"https://{BASE_DOMAIN}", f"https://*.{BASE_DOMAIN}"]
    SECURE_REDIRECT_EXEMPT = [r"^health/(web/)?$"]

# Logs: one JSON object per line on stdout in production (LOG_FORMAT=json elsewhere), readable
# lines on stderr in development. Every line names its request id, organisation and user, and in
# a task its name and attempt (nexuscore/lib/logs.py); each request adds one line of its own.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json" if PRODUCTION else "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "nexuscore.lib.logs.LogContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            # Django's request objects (django.request, django.server) would print the query
            # string, which may carry an email address; `context` is the text format's.
            "reserved_attrs": [*RESERVED_LOG_RECORD_ATTRS, "request", "server_time", "context"],
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
            "stream": "ext://sys.stdout" if LOG_FORMAT == "json" else "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}},
}

# Errors: reported to Sentry only when SENTRY_DSN is set, without personal data
# (nexuscore/lib/errors.py). SENTRY_RELEASE defaults to the platform's commit variable.
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from nexuscore.lib.errors import start_error_reporting  # sentry-sdk only when it is on

    start_error_reporting(
        SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", ENVIRONMENT),
        release=os.environ.get("SENTRY_RELEASE") or os.environ.get("SOURCE_VERSION", ""),
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# Stripe: with no keys set, billing pages say billing is not configured and the webhook refuses
# everything.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
# Where the Stripe SDK sends its requests (tests point it at a local fake), how often it retries
# a request that failed on the network (each carries an idempotency key), and the optional Stripe
# tax rate (9 % GST, exclusive) that Checkout puts on standard-rated subscriptions.
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
STRIPE_GST_TAX_RATE = os.environ.get("STRIPE_GST_TAX_RATE", "")
# Days an organisation keeps working after a failed payment before it becomes read-only.
BILLING_GRACE_DAYS = int(os.environ.get("BILLING_GRACE_DAYS", "7"))

# NexusCore's own details, printed on tax invoices.
NEXUSCORE_LEGAL_NAME = os.environ.get("NEXUSCORE_LEGAL_NAME", "NexusCore Pte. Ltd.")
NEXUSCORE_ADDRESS = os.environ.get(
    "NEXUSCORE_ADDRESS", "1 Marina Boulevard #28-00\nSingapore 018989"
)
NEXUSCORE_UEN = os.environ.get("NEXUSCORE_UEN", "201912345R")
NEXUSCORE_GST_NUMBER = os.environ.get("NEXUSCORE_GST_NUMBER", "201912345R")
