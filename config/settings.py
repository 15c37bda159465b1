"""The one settings module: every value comes from the environment, with safe dev defaults."""

import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (see .env.example) is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Unset: this installation's own random key, made on first start and kept in .data/secret_key
# (SECRET_KEY_FILE), never a value written in the repository. Production requires it set.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    from devtools.services import installation_secret_key

    SECRET_KEY = installation_secret_key(Path(env.str("SECRET_KEY_FILE", default=str(BASE_DIR / ".data" / "secret_key"))))
# Earlier keys still accepted while a new SECRET_KEY rolls out (sessions, signed links).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A CSRF failure under /api or /v1 answers with the JSON error body (workspaces/views.py).
CSRF_FAILURE_VIEW = "workspaces.views.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "channels",
    "workspaces",
    "audiences",
    "journeys",
    "channels_app",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "workspaces.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audiences.api.paths.CustomerPathMiddleware",  # a %2F in a customer id stays part of the id
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/waymark"),
}
# Connections: a pool in the web process, persistent connections everywhere else.
# Under ASGI every request runs its sync code in a fresh thread, so CONN_MAX_AGE connections
# never outlive the request: each request paid a new PostgreSQL backend (~5 ms idle, ~30 ms
# loaded). The web process therefore borrows from psycopg's pool instead (Django requires
# CONN_MAX_AGE=0 with it). It is on when an ASGI server runs this process (uvicorn however
# started: Procfile, docker-compose, tests, bench; its --workers children inherit argv), and
# DB_POOL=true/false overrides that (gunicorn with uvicorn workers needs DB_POOL=true).
# Celery workers, beat, run_timers and manage.py keep long-lived threads, where persistent
# connections already work and a pool's threads would not survive Celery's prefork (psycopg
# prepares statements per connection, so prepare_threshold in OPTIONS works with the pool,
# though not behind PgBouncer in transaction mode). A request that gets no connection
# within DB_POOL_TIMEOUT seconds (PostgreSQL down) raises PoolTimeout, an OperationalError,
# which the middleware answers with 503; CONN_HEALTH_CHECKS makes the pool check each
# connection before lending it, so connections broken by a PostgreSQL restart are replaced.
ASGI_SERVERS = {"uvicorn", "daphne", "hypercorn"}  # argv[0] is bin/uvicorn or uvicorn/__main__.py
DB_POOL = env.bool("DB_POOL", default=bool(ASGI_SERVERS & set(Path(sys.argv[0]).parts[-2:])))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DB_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DB_POOL_TIMEOUT", default=3.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Wait timers live in this many Redis sorted sets (journeys/timers.py); one is plenty on one Redis.
TIMER_SHARDS = env.int("TIMER_SHARDS", default=1)

AUTH_USER_MODEL = "workspaces.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
# The Vite build lands here (frontend/dist); whitenoise serves it from the one origin.
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies: JSON batches of 10,000 customers need room; a CSV import is spooled to the web
# process's temporary folder, then streamed into PostgreSQL.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=20 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=266 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100_000
# Event ingest may skip the WAL flush wait for speed; off by default because an accepted event
# must survive a PostgreSQL crash (audiences/services.py explains the trade).
INGEST_ASYNC_COMMIT = env.bool("INGEST_ASYNC_COMMIT", default=False)
# CSV customer imports wait in PostgreSQL for a worker (audiences.models.ImportChunk); above
# this cap is a 413. A million customers with phone, locale, time zone and tags is ~127 MB of
# CSV (bench/realistic.py).
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=256 * 1024 * 1024)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workspaces.auth.ApiKeyAuthentication",
        "workspaces.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["workspaces.permissions.WorkspaceRolePermission"],
    # DRF's default parsers, with text PostgreSQL cannot store (JSON, form, multipart) refused as a 400 (workspaces/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "workspaces.parsers.StrictJSONParser",
        "workspaces.parsers.StrictFormParser",
        "workspaces.parsers.StrictMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "workspaces.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "workspaces.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["workspaces.throttling.WorkspaceKeyThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_RATE_LIMIT", default="6000/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Waymark API",
    "DESCRIPTION": "Multi-tenant customer-journey platform. Authenticate with `Authorization: Bearer wm_…`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The error body and its statuses on every operation (workspaces/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "workspaces.schema.add_error_responses"],
    # Several models have a `status`; name each enum after its owner so generated types read well.
    "ENUM_NAME_OVERRIDES": {
        "ImportStatusEnum": "audiences.models.ImportJob.Status",
        "JourneyStatusEnum": "journeys.models.Journey.Status",
        "MessageStatusEnum": "channels_app.models.Message.Status",
        "ChannelEnum": "channels_app.rendering.CHANNELS",
        "ChannelConfigChannelEnum": "channels_app.rendering.CONFIG_CHANNELS",
        "EventsEnum": "webhooks_out.models.EVENT_TYPES",
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "wm",
    }
}

# Every consumer waits on its channel with BZPOPMIN for 5 s (channels_redis brpop_timeout), and
# redis-py 8 reads with a 5 s socket timeout by default: the empty reply and the timeout race, so
# an idle websocket died with redis TimeoutError after ~5 s. The read timeout must outlast the
# blocking pop; keepalive and health checks still find a dead connection.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_keepalive": True,
                       "health_check_interval": 30}],
        },
    }
}

# Celery: Redis broker, four queues; acks late so a worker dying mid-batch re-delivers it.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A killed worker's unacknowledged tasks return to the queue after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}

# Outgoing connections (webhooks, HTTP/SMTP providers) refuse private targets unless listed.
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])
# Channel credentials are encrypted at rest with keys derived from this (Fernet, comma list rotates).
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[SECRET_KEY])
# Absolute base URL used in tracking links and provider callbacks.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # httpx logs every request's full URL at INFO, and some providers carry their secret in
        # the URL (Telegram's bot token is a path segment): never below WARNING, even at DEBUG.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Email Waymark itself sends (member invitations). The console backend prints them, which is
# what `make run` wants; set EMAIL_URL (e.g. smtp+tls://user:pass@smtp.example.com:587) in production.
# Tests use Django's in-memory outbox (pytest-django switches the backend).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Waymark <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds; a stuck SMTP server must not hold a request
# An invitation link works once, for this many days.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)
# Invitations one workspace may send per hour: each is an email from our domain to any address.
INVITATIONS_PER_HOUR = env.int("INVITATIONS_PER_HOUR", default=50)

# Outbound calls (webhook nodes, provider sends) of one workspace running at once on the
# `outbound` pool (channels_app.outbound_slots); keep it well below that pool's concurrency.
OUTBOUND_SLOTS_PER_WORKSPACE = env.int("OUTBOUND_SLOTS_PER_WORKSPACE", default=4)
# Every Celery task has a hard time limit (the worker kills it; acks_late re-delivers) and a soft
# one a minute before it; the outbound tasks set tighter ones of their own (channels_app.tasks).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1740)

# /api/docs serves Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN:
# a CDN "@latest" without integrity would run whatever it serves next with the user's session.
INSTALLED_APPS += ["drf_spectacular_sidecar"]
SPECTACULAR_SETTINGS |= {"SWAGGER_UI_DIST": "SIDECAR", "SWAGGER_UI_FAVICON_HREF": "SIDECAR", "REDOC_DIST": "SIDECAR"}
# Failed authentications (401) one client address may cause before it gets 429 (workspaces/middleware.py).
AUTH_FAILURE_RATE = env.str("AUTH_FAILURE_RATE", default="60/min")

# Client addresses: X-Forwarded-For is believed only from these proxies (addresses or networks,
# comma-separated, e.g. 10.0.0.0/8); by default from none, since any client can send the header.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Sign-in limits (API and admin): failures per account and per client address in a window.
AUTHENTICATION_BACKENDS = ["workspaces.login_limits.RateLimitedModelBackend"]
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=50)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)

# Publishable keys (wm_pk_…) in web pages: CORS on /v1/ for their allowed origins, answered right
# after the request guard; and their own rate limits, per key and per key and client address.
MIDDLEWARE.insert(MIDDLEWARE.index("workspaces.middleware.RequestGuardMiddleware") + 1, "workspaces.origins.TrackingCorsMiddleware")
PUBLISHABLE_KEY_RATE = env.str("PUBLISHABLE_KEY_RATE", default="3000/min")
PUBLISHABLE_KEY_ADDRESS_RATE = env.str("PUBLISHABLE_KEY_ADDRESS_RATE", default="300/min")

# Outbound event webhooks (webhooks_out): a failed delivery is retried after the base doubling
# (at most an hour apart) until this window has passed since the event; a webhook whose every
# delivery failed for the whole window is disabled.
INSTALLED_APPS += ["webhooks_out"]
EVENT_WEBHOOK_RETRY_BASE_SECONDS = env.float("EVENT_WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
EVENT_WEBHOOK_RETRY_WINDOW_SECONDS = env.int("EVENT_WEBHOOK_RETRY_WINDOW_SECONDS", default=24 * 3600)
