"""Periop settings: one module, configured entirely by environment variables.

Defaults suit a developer's machine (debug on, SQLite next to the code). Production sets
`DJANGO_DEBUG=false`, which makes `SECRET_KEY` and `AUDIT_HMAC_KEY` mandatory and switches on
every transport-security setting that `manage.py check --deploy` asks for.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets the admin and other generic Django classes be subscripted, as the type stubs describe.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    """A string from the environment, or from the file named by `<name>_FILE` (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(
                f"{name}_FILE names a file that cannot be read: {error}"
            ) from error
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DJANGO_DEBUG is false."
        )
    # Development only: a key that changes each start is safer than a shared constant.
    SECRET_KEY = "insecure-development-key-" + os.urandom(24).hex()

# The audit ledger's HMAC key lives outside the database, so even a database superuser who
# rewrites rows cannot recompute the chain. Rotating it: set a new AUDIT_HMAC_KEY_ID with the new
# key and keep the old one in AUDIT_HMAC_PREVIOUS_KEYS ("id:key,id:key") for verification.
# Public, so anyone could recompute a chain signed with it: `check --deploy` refuses it, as it
# refuses any key shorter than AUDIT_HMAC_KEY_MIN_LENGTH characters.
DEVELOPMENT_AUDIT_HMAC_KEY = "development-audit-key-not-for-production"
AUDIT_HMAC_KEY_MIN_LENGTH = 32
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY")
if not AUDIT_HMAC_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "AUDIT_HMAC_KEY (or AUDIT_HMAC_KEY_FILE) must be set when DJANGO_DEBUG is false."
        )
    AUDIT_HMAC_KEY = DEVELOPMENT_AUDIT_HMAC_KEY
AUDIT_HMAC_KEY_ID = env_str("AUDIT_HMAC_KEY_ID", "k1" if not DEBUG else "dev")
AUDIT_HMAC_PREVIOUS_KEYS = env_str("AUDIT_HMAC_PREVIOUS_KEYS")
# Verification reports every problem it finds up to this many, then stops.
AUDIT_VERIFY_MAX_PROBLEMS = env_int("AUDIT_VERIFY_MAX_PROBLEMS", 100)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "periop.accounts",
    "periop.drugs",
    "periop.audit",
    "periop.assessments",
    "periop.reports",
    "periop.web",
    "periop.health",
    "periop.interop",
    "axes",
    "django_htmx",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "periop.middleware.RequestIdMiddleware",
    # Before anything reads the body or the session: a refusal costs no parsing.
    "periop.protection.RequestBodyLimitMiddleware",
    # After WhiteNoise, so static files keep their long-lived caching.
    "periop.protection.NoStoreMiddleware",
    "periop.protection.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# The largest request body accepted, in bytes (413 above it, before parsing). JSON requests
# are small: fifty drugs, conditions or medications fit in a few kilobytes.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 1024 * 1024)
# CDS Hooks: seconds to wait for an EHR's FHIR server or a client's JWK Set before giving up
# (the hook then answers 412, or the caller 401), and whether a plain-http fhirServer is taken
# (never in production: the access token would cross the network in clear).
CDS_HOOKS_HTTP_TIMEOUT_SECONDS = env_int("CDS_HOOKS_HTTP_TIMEOUT_SECONDS", 3)
CDS_HOOKS_ALLOW_HTTP_FHIR_SERVER = env_bool("CDS_HOOKS_ALLOW_HTTP_FHIR_SERVER", False)
# Origins of browser-based CDS clients allowed to call /cds-services (CORS); none by default.
CDS_HOOKS_CORS_ORIGINS = env_list("CDS_HOOKS_CORS_ORIGINS", [])
# Seconds a client is asked to wait (Retry-After) when the database is down, read-only or full.
DATABASE_RETRY_AFTER_SECONDS = env_int("DATABASE_RETRY_AFTER_SECONDS", 5)

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "periop.web.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "periop.urls"
WSGI_APPLICATION = "periop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "periop" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "periop.web.context_processors.workplace",
            ],
        },
    },
]

# Database: SQLite next to the code unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'periop.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes a writer wait for the lock instead of failing with "database is locked",
    # and serialises audit appends; WAL lets readers proceed while one writer works.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Persistent connections add nothing for a local file and keep WAL files open.
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# The fixed statements every request runs (the token, the caller's departments, the tunings in
# force, the audit append) are prepared on each PostgreSQL connection and planned once
# (`periop.fixed_sql.prepared_cursor`); Django's own queries never are. Turn it off behind a
# pooler that cannot keep a session's prepared statements (PgBouncer in transaction mode before
# 1.21, or without `max_prepared_statements`).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)


def _prepared_statements(database: dj_database_url.DBConfig) -> None:
    """A fixed statement is prepared the first time it runs on a connection."""
    if DATABASE_PREPARED_STATEMENTS and database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})["prepare_threshold"] = 0


_prepared_statements(DATABASES["default"])

# Signed checkpoints of the audit chain's head, one JSON line each, appended by
# `manage.py audit_checkpoint` and by every report. A chain cannot see its own newest events
# deleted; the checkpoints, kept outside the database (ship the file to a write-once store or
# syslog, see the README), can. By default the file lies in the data directory, beside the
# SQLite database.
_SQLITE_NAME = str(DATABASES["default"].get("NAME") or "")
DATA_DIR = (
    Path(_SQLITE_NAME).resolve().parent
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and _SQLITE_NAME
    and not _SQLITE_NAME.startswith((":memory:", "file:"))
    else BASE_DIR
)
AUDIT_CHECKPOINT_FILE = Path(
    env_str("AUDIT_CHECKPOINT_FILE") or DATA_DIR / "periop-audit-checkpoints.jsonl"
)
# Every this many events the ledger writes a checkpoint by itself, once the event's transaction
# has committed (0: only `manage.py audit_checkpoint` and the reports write them). Verification
# then fails when the checkpoint file lacks the checkpoints that should be there.
AUDIT_CHECKPOINT_EVERY_EVENTS = env_int("AUDIT_CHECKPOINT_EVERY_EVENTS", 100)
# PostgreSQL only. Off: a transaction that appends to the ledger holds the chain head's lock
# until its commit is flushed to disk, so appends commit one at a time. On: it commits without
# waiting for the flush (releasing the lock at once), then waits for the flush before the
# caller goes on, outside the lock, where many commits share one flush. Nothing acknowledged
# is ever lost and the chain never forks; but for the few milliseconds until the flush, other
# sessions can read a commit that a crash of the database server would undo. See the README.
AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK = env_bool("AUDIT_FLUSH_OUTSIDE_CHAIN_LOCK", False)
# How many hash chains (lanes) the ledger appends to in parallel. 1: one chain, every append
# queues on its head. More (PostgreSQL): each database connection appends to a lane of its own, so
# appends of different lanes never wait for each other; verification walks each lane, and
# reports pin every lane's head. Lowering it later is safe (the other lanes stay as they are,
# verified); see the README, "Lanes".
AUDIT_LANES = env_int("AUDIT_LANES", 1)
if not 1 <= AUDIT_LANES <= 64:  # periop.audit.lanes.MAX_LANES
    raise ImproperlyConfigured(f"AUDIT_LANES must be from 1 to 64, not {AUDIT_LANES}.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "periop" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

# Lockout after repeated failed logins (django-axes). Counted per username on one address, not
# per address alone: anaesthetists share theatre workstations, and one person's typos must not
# lock everyone else out of that workstation. The lockout ends by itself after the cool-off,
# or an administrator resets it (`manage.py axes_reset_username`).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# Axes writes its own access log rows; the audit ledger already records every login.
AXES_DISABLE_ACCESS_LOG = True

# Failed logins per client address, whatever the usernames (periop.accounts.login_limits):
# beyond this many in the window, an address's attempts are refused, and the ledger records
# one "throttled" event instead of one event per attempt.
# API tokens (pharmacy systems) expire this many days after they are issued.
API_TOKEN_LIFETIME_DAYS = env_int("API_TOKEN_LIFETIME_DAYS", 365)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_MINUTES", 15) * 60

# Content security policy: every script and style is a local file, so nothing inline runs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Sessions on a shared workstation: short-lived and gone when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Behind a TLS-terminating proxy, say which header carries the original scheme.
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /health is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header is what turns "not authenticated" into a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's `Token <key>` header, checked against hashed keys (periop.accounts.models.ApiToken).
        "periop.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON, written by orjson (periop.renderers).
    "DEFAULT_RENDERER_CLASSES": ["periop.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["periop.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "periop.api.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "periop.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_VERSIONING_CLASS": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Periop API",
    "DESCRIPTION": (
        "Neuromuscular-blocker cautions for patients with neuromuscular-junction disorders. "
        "Research draft knowledge base: not validated clinical guidance."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "periop.schema.shared_responses",
    ],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "CautionLevelEnum": "periop.drugs.schema.LEVEL_CHOICES",
        "ReceptorStateEnum": "periop.drugs.schema.RECEPTOR_STATE_CHOICES",
        "EffectTagEnum": "periop.drugs.schema.EFFECT_CHOICES",
        "AcknowledgementDecisionEnum": "periop.assessments.models.Decision",
        "PlanDecisionEnum": "periop.assessments.services.plan.PLAN_DECISIONS",
    },
}

# The cache counts failed logins per client address (periop.accounts.login_limits). Each
# server process has its own local-memory cache, which multiplies that bound by the number of
# processes; REDIS_URL (for example redis://127.0.0.1:6379/0) shares one count between them,
# and `check --deploy` warns in production without it.
REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "periop",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# The cited knowledge base that every caution comes from.
KNOWLEDGE_BASE_DIR = Path(env_str("KNOWLEDGE_BASE_DIR", str(BASE_DIR / "fixtures" / "knowledge")))
# A server looks up the active release in the database this often, so every server of a
# group follows an activation (the server that activates switches at once).
KNOWLEDGE_BASE_RECHECK_SECONDS = env_int("KNOWLEDGE_BASE_RECHECK_SECONDS", 30)

# Structured logs on standard output. Records carry only whitelisted fields, so patient data
# passed by mistake in a record's extras never reaches a log line.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "periop.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "periop.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint narrates every step of a PDF at INFO, and fontTools its font subsetting.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Benchmark-only endpoints (periop.bench_views), for bench/http_bench.py; never in production.
BENCH_ENDPOINTS = env_bool("PERIOP_BENCH_ENDPOINTS", False)

# A streaming read replica for the reports (periop.replica): when DATABASE_REPLICA_URL is set,
# the department report (HTML, CSV, PDF, JSON) and the audit-log report read from it while its
# lag is within REPLICA_MAX_LAG_SECONDS, else from the primary; every write goes to the primary.
# In tests it mirrors the primary's test database (replication carries it to a real replica).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    _prepared_statements(DATABASES["replica"])
DATABASE_ROUTERS = ["periop.replica.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = env_float("REPLICA_MAX_LAG_SECONDS", 5.0)
# How long a report waits for a replica that is only just behind the primary.
REPLICA_CATCH_UP_WAIT_SECONDS = env_float("REPLICA_CATCH_UP_WAIT_SECONDS", 0.2)
