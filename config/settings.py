"""Settings for 客户满意度管理, read from the environment.

Embedded default: SQLite and in-process tasks, nothing to install. Production: set DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and DJANGO_SECURE=1 (see README).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The development default carries Django's "django-insecure-" prefix so that `check --deploy` refuses it (W009).
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    # The project's apps, lowest layer first (an app imports only from apps above it in this list; see
    # tests/test_architecture.py): core ← departments ← owners ← surveys ← online ← satisfaction ← improvement_plans
    # ← feedback ← followup ← dashboards ← reports ← demo.
    "core",
    "departments",
    "owners",
    "surveys",
    "online",
    "satisfaction",
    "improvement_plans",
    "feedback",
    "followup",
    "dashboards",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the body: size from Content-Length, NUL bytes, JSON depth (core/request_limits.py).
    "core.request_limits.RequestLimitsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user and their visible ports cached under the scope version (departments/auth.py).
    "departments.auth.CachedAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.middleware.AccessLogMiddleware",
    "core.middleware.LoginRequiredMiddleware",  # Django's, with the API answering 401 itself
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.PrivateCacheMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

# Every form renders through django-crispy-forms with the Bootstrap 5 pack (the vendored Bootstrap).
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
# A layout naming a field the form lacks fails loudly instead of leaving the field out of the page.
CRISPY_FAIL_SILENTLY = False
WSGI_APPLICATION = "config.wsgi.application"

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
                "dashboards.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the embedded worker write snapshots while the web process reads.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Cache of rendered dashboard panels and bodies (keys name every input, so entries never go stale). CACHE_URL
# redis://… shares one cache between all web processes (production); unset: each process keeps its own in memory.
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    # While Redis is unreachable every call is a miss, and clients are reused (core/cache.py): pages keep serving
    # from the database.
    CACHES = {"default": {"BACKEND": "core.cache.DegradingRedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "csm", "TIMEOUT": 3600,
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1}}}
    # Sessions read from the shared cache, written through to the database; only with a shared cache, since a
    # per-process cache would keep a logged-out session alive in the other processes.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 2000}}}

# Lockout after repeated failures: AXES_FAILURE_LIMIT per user and address, AXES_ACCOUNT_FAILURE_LIMIT per
# account across every address (core/lockout.py; the parameter sets must stay in this order).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_ACCOUNT_FAILURE_LIMIT = env_int("AXES_ACCOUNT_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "core.lockout.AccountLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# Behind N reverse proxies the client is the N-th address from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "core.auth_events.client_ip"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (make run, tests) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not env_bool("STATIC_MANIFEST", False)
# Source maps (7 MB of the 16, read only by a browser's developer tools) are served uncompressed: compressing them
# was half of collectstatic's CPU (about 70 of 140 s on 2 cores), paid by every release and the stack test.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")

# Imports.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024)
IMPORT_MAX_UNPACKED_BYTES = env_int("IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
# Request bodies other than uploaded files (forms, JSON): refused beyond this, from Content-Length, before reading.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
# The token URL answers without login: a login needs a few hundred bytes.
TOKEN_URL = "/api/v1/auth/token/"
TOKEN_MAX_BODY_BYTES = 4096
JSON_MAX_DEPTH = 32
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
OWNER_RETENTION_DAYS = env_int("OWNER_RETENTION_DAYS", 365 * 10)

# Celery: with no broker configured, tasks run in-process.
CELERY_TASK_ALWAYS_EAGER = env_str("CELERY_BROKER_URL", "") == ""
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
# The soft limit leaves a task a minute (a tenth of short limits) to clean up before the hard kill.
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - min(60, max(1, CELERY_TASK_TIME_LIMIT // 10))
# A message whose worker died is handed out again after the visibility timeout; it must exceed the hard time
# limit, else a long task still running would be given to a second worker. Sockets time out so that a broker
# that vanished fails a publish fast (the run stays pending and the beat's flush queues it when it is back).
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 15 * 60)
if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ValueError("CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": env_int("CELERY_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    "socket_timeout": 10,
    "socket_connect_timeout": 5,
}
# Partitioned recompute: surveys with this many responses are split into groups of projects of about
# METRICS_PARTITION_ROWS responses, counted by several workers (needs CELERY_RESULT_BACKEND for the chord).
METRICS_PARTITION_MIN_RESPONSES = env_int("METRICS_PARTITION_MIN_RESPONSES", 200_000)
METRICS_PARTITION_ROWS = env_int("METRICS_PARTITION_ROWS", 250_000)
# How often the beat re-queues recomputes the broker never got, and how old a pending one must be.
METRICS_FLUSH_SECONDS = env_int("METRICS_FLUSH_SECONDS", 60)
# A running recompute beats every METRICS_HEARTBEAT_SECONDS; one silent for METRICS_STALE_SECONDS lost its worker
# and the next flush queues it again: a dead worker's run is back within STALE + FLUSH seconds (≤ 2 minutes).
METRICS_HEARTBEAT_SECONDS = env_int("METRICS_HEARTBEAT_SECONDS", 5)
METRICS_STALE_SECONDS = env_int("METRICS_STALE_SECONDS", 40)
if METRICS_STALE_SECONDS < 3 * METRICS_HEARTBEAT_SECONDS:
    raise ValueError("METRICS_STALE_SECONDS must be at least three heartbeats")
# One run per survey at a time: how long a run waits for the survey's lock before it is retried.
METRICS_LOCK_WAIT_SECONDS = env_int("METRICS_LOCK_WAIT_SECONDS", 10)
# A worker that loses the broker waits for it for ever (retrying with backoff) instead of exiting after 100 tries:
# a Redis restart or failover must not need systemd to bring the workers back.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = TIME_ZONE
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_dir = Path(env_str("CELERY_FILESYSTEM_DIR", str(VAR_DIR / "celery")))
    for _sub in ("queue", "processed", "control"):
        (_celery_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    # kombu's filesystem transport with atomic message files (core/celery_fs.py): a worker never reads half a message.
    CELERY_BROKER_TRANSPORT = "core.celery_fs:Transport"
CELERY_BEAT_SCHEDULE = {
    "nightly-recompute": {
        "task": "satisfaction.tasks.recompute_all_surveys",
        "schedule": timedelta(hours=24),
    },
    "flush-pending-recomputes": {
        "task": "satisfaction.tasks.flush_pending_recomputes",
        "schedule": timedelta(seconds=METRICS_FLUSH_SECONDS),
    },
    "flush-pending-imports": {
        "task": "surveys.tasks.flush_pending_imports",
        "schedule": timedelta(seconds=METRICS_FLUSH_SECONDS),
    },
    "remind-overdue-action-items": {
        "task": "improvement_plans.tasks.remind_overdue_action_items",
        "schedule": timedelta(hours=24),
    },
    # Daily at 08:00 (CELERY_TIMEZONE): the first run of a month sends last month's digests; the later runs send
    # only what is still due (a user added since, a send that failed), never a second copy (reports.DigestSent).
    "monthly-digests": {
        "task": "reports.tasks.send_monthly_digests",
        "schedule": crontab(hour=8, minute=0),
    },
    # The follow-up tickets' SLA clock: overdue tickets go to the department head, later to management.
    "escalate-overdue-tickets": {
        "task": "followup.tasks.tickets_escalate_task",
        "schedule": timedelta(minutes=15),
    },
    # Each user's to-do list by e-mail, once a day (kind todo_digest, switchable per user).
    "todo-digest": {
        "task": "dashboards.tasks.todo_digest_task",
        "schedule": crontab(hour=8, minute=0),
    },
    # Alert runs the broker never got (tickets are opened once whatever runs twice).
    "sweep-alerts": {
        "task": "followup.tasks.alerts_sweep",
        "schedule": timedelta(hours=1),
    },
    # Reminders due and messages held over the night: every few minutes, so that the night's arrive soon after 09:00.
    "online-reminders": {
        "task": "online.tasks.send_due_messages",
        "schedule": timedelta(minutes=env_int("ONLINE_REMINDER_MINUTES", 10)),
    },
}

# API tokens (core/tokens.py): hashed at rest, one per client, ended by logout and password change.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 8)

REST_FRAMEWORK = {
    # Token first: an unauthenticated call then gets 401 with "WWW-Authenticate: Token", not a bare 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (uploads and the token URL say otherwise): one encoding to validate, and the schema's.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.ApiSchema",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "客户满意度管理 API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Multipart uploads (imports) get their own request component with a binary file field.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "QuestionKindEnum": "surveys.models.QuestionKind",
        "StageEnum": "owners.stages.Stage",
        "SurveySourceEnum": "surveys.models.SurveySource",
        "ImportKindEnum": "surveys.models.ImportJob.Kind",
        "ActionItemKindEnum": "improvement_plans.models.ItemKind",
        "ActionItemStatusEnum": "improvement_plans.models.ItemStatus",
        "ImportStatusEnum": "surveys.models.ImportJob.Status",
        "PlanStatusEnum": "improvement_plans.models.PlanStatus",
        "FeedbackStatusEnum": "feedback.models.FeedbackStatus",
    },
}

# Mail (plan notices, password reset) goes out by SMTP once EMAIL_HOST is set; without it, to the console, which
# `check --deploy` refuses when DEBUG is off (csm.E001: a reset link on stdout lands in the web log).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
EMAIL_PORT = env_int("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "csm@example.com")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# Password reset mails, at most this many per account (e-mail address asked for) and per client address an hour.
PASSWORD_RESET_LIMIT_PER_ACCOUNT = env_int("PASSWORD_RESET_LIMIT_PER_ACCOUNT", 3)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env_int("PASSWORD_RESET_LIMIT_PER_ADDRESS", 10)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
# Owners' online answers, at most this many posts per link and per client address an hour (a housing estate's
# owners may share one address behind a carrier's NAT or the clubhouse Wi-Fi, hence the generous second limit).
ONLINE_POSTS_PER_TOKEN = env_int("ONLINE_POSTS_PER_TOKEN", 30)
ONLINE_POSTS_PER_ADDRESS = env_int("ONLINE_POSTS_PER_ADDRESS", 600)

# Messages to owners (online/messaging.py): invitations and reminders by SMS and e-mail. SMS_BACKEND is console,
# filebased (the default: one JSON file per message under SMS_FILE_PATH, nothing leaves the machine), locmem or
# http (a signed JSON gateway: SMS_GATEWAY_URL, _KEY, _SECRET, SMS_SIGN_NAME and one provider template code per
# message template). No message goes out between ONLINE_QUIET_START and ONLINE_QUIET_END (hours, Asia/Shanghai).
SMS_BACKEND = env_str("SMS_BACKEND", "filebased")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms"))
SMS_GATEWAY_URL = env_str("SMS_GATEWAY_URL")
SMS_GATEWAY_KEY = env_str("SMS_GATEWAY_KEY")
SMS_GATEWAY_SECRET = env_str("SMS_GATEWAY_SECRET")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
SMS_SIGN_NAME = env_str("SMS_SIGN_NAME", "客户满意度")
SMS_GATEWAY_TEMPLATES = {
    "invitation": env_str("SMS_TEMPLATE_INVITATION", "invitation"),
    "reminder": env_str("SMS_TEMPLATE_REMINDER", "reminder"),
}
ONLINE_QUIET_START = env_int("ONLINE_QUIET_START", 21)
ONLINE_QUIET_END = env_int("ONLINE_QUIET_END", 9)
# Project QR links: wrong unit/phone answers allowed per client address per window before the page refuses.
ONLINE_PROJECT_LINK_LIMIT = env_int("ONLINE_PROJECT_LINK_LIMIT", 10)
ONLINE_PROJECT_LINK_WINDOW = env_int("ONLINE_PROJECT_LINK_WINDOW", 15 * 60)

# Production hardening (DJANGO_SECURE=1 behind an HTTPS proxy).
SECURE = env_bool("DJANGO_SECURE", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE and env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe health over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
if SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_phones": {"()": "core.logging.MaskPhoneFilter"}},
    "formatters": {
        "plain": {
            "()": "core.logging.MaskPhoneFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_phones"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
        "csm.access": {"level": "INFO"},
    },
}
