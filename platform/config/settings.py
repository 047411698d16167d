"""Settings for the fetalbench site.

Embedded default (no environment needed): SQLite, a file-based Celery broker and local file
storage, all under `var/`. With DATABASE_URL and REDIS_URL set the same code runs on
PostgreSQL and Redis (docker-compose, CI's end-to-end tests).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.caches import cache_settings
from config.secret_key import allows_local_key, resolve_secret_key

ROOT_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(os.environ.get("FETALBENCH_VAR", ROOT_DIR / "var")).resolve()

# DEBUG is opt-in (DJANGO_DEBUG=1): with it an unknown URL shows Django's debug page, which
# lists every URL and setting. Errors otherwise get the site's 403/404/500 pages.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
# From the environment; outside production (DJANGO_DEBUG=0 set explicitly, as docker-compose
# does) a key kept under var/ is used instead (config/secret_key.py).
SECRET_KEY = resolve_secret_key(
    os.environ.get("DJANGO_SECRET_KEY"), allows_local_key(os.environ), VAR_DIR
)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from /static/, not a CDN
    "challenges",
    "web",
    "demo",
]

# hardening.*: docs/security.md says what each one defends against.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "hardening.csp.ContentSecurityPolicyMiddleware",
    "hardening.nul_bytes.RejectNulMiddleware",
    "hardening.upload_limit.UploadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web process and workers share the file: wait for locks instead of failing. IMMEDIATE
    # transactions take the write lock up front, so two writers queue up instead of one of
    # them hitting SQLite's instant "database is locked" on a read-to-write upgrade; WAL lets
    # pages read while a worker writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"  # participants' uploads; never served directly
TRUTH_ROOT = VAR_DIR / "truth"  # hidden labels; read only by the scoring worker
# No URL pattern, middleware or server serves MEDIA_ROOT; the prefix only exists because
# Django's live-server test handler requires a string here (None crashes it).
MEDIA_URL = "/private-uploads-never-served/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
SUBMISSION_MAX_BYTES = int(os.environ.get("FETALBENCH_SUBMISSION_MAX_BYTES", 1024**3))
# The size check runs while the upload streams in, before the next handlers store it.
FILE_UPLOAD_HANDLERS = [
    "hardening.upload_limit.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- HTTPS (FETALBENCH_HTTPS=1 behind a TLS-terminating proxy; Django deployment checklist) ---
HTTPS = os.environ.get("FETALBENCH_HTTPS", "0") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("FETALBENCH_HSTS_SECONDS", 31536000)) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("FETALBENCH_HSTS_SUBDOMAINS", "0") == "1"
# The proxy must set X-Forwarded-Proto itself (and drop any a client sent).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS and os.environ.get("FETALBENCH_SSL_REDIRECT", "1") == "1"
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Log-in throttling (hardening/login_limits.py) and the cache that holds its counters ---
CACHES = cache_settings(
    os.environ.get("FETALBENCH_CACHE_URL") or os.environ.get("REDIS_URL", ""), VAR_DIR
)
LOGIN_FAILURES_PER_USERNAME = int(os.environ.get("FETALBENCH_LOGIN_FAILURES_PER_USERNAME", 10))
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("FETALBENCH_LOGIN_FAILURES_PER_ADDRESS", 50))
LOGIN_FAILURE_WINDOW_S = int(os.environ.get("FETALBENCH_LOGIN_FAILURE_WINDOW_S", 15 * 60))
# Only behind a proxy that overwrites it, e.g. HTTP_X_REAL_IP; empty = REMOTE_ADDR.
CLIENT_ADDRESS_HEADER = os.environ.get("FETALBENCH_CLIENT_ADDRESS_HEADER", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "challenges.api.pagination.Pages",
    # Every error body has a readable "detail" (field errors also under "fields").
    "EXCEPTION_HANDLER": "challenges.api.errors.exception_handler",
    # Generous: the CLI polls once a second, the demo's reference runs submit in bursts.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("FETALBENCH_API_ANON_RATE", "600/min"),
        "user": os.environ.get("FETALBENCH_API_USER_RATE", "3000/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "fetalbench API",
    "DESCRIPTION": "Challenges, phases, submissions and leaderboards for fetal-ultrasound segmentation.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True  # the database, not a result backend, holds outcomes
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "scoring"
CELERY_TASK_ROUTES = {
    "challenges.tasks.score_submission": {"queue": "scoring"},
    "challenges.tasks.run_inference": {"queue": "inference"},
    "challenges.tasks.recover_stuck_submissions": {"queue": "scoring"},
    # Runs where Docker is: on the inference workers.
    "challenges.tasks.reap_sandbox_orphans": {"queue": "inference"},
}
CELERY_BEAT_SCHEDULE = {
    "recover-stuck-submissions": {
        "task": "challenges.tasks.recover_stuck_submissions",
        "schedule": timedelta(minutes=1),
    },
    "reap-sandbox-orphans": {
        "task": "challenges.tasks.reap_sandbox_orphans",
        "schedule": timedelta(minutes=15),
    },
}
# How long a submission may stay in one state before the watchdog steps in.
SUBMISSION_STATE_DEADLINE = timedelta(
    seconds=int(os.environ.get("FETALBENCH_STATE_DEADLINE_S", 30 * 60))
)

# Processes the evaluator may use for one submission in a solo/threads worker (a prefork child
# always scores serially); 0 or unset: every core.
SCORING_WORKERS = int(os.environ.get("FETALBENCH_SCORING_WORKERS", "0") or 0)
# Chromium binary that prints challenge reports to PDF; unset: looked up on PATH.
REPORT_CHROMIUM = os.environ.get("FETALBENCH_CHROMIUM", "")

# --- Inference (model and container submissions; docs/model-container.md) ---------------------
# Default wall-clock limit per run; a phase's `inference_seconds` overrides it. Keep it below
# SUBMISSION_STATE_DEADLINE: a run gives no heartbeat, so the watchdog would requeue it.
INFERENCE_SECONDS = int(os.environ.get("FETALBENCH_INFERENCE_SECONDS", 20 * 60))
INFERENCE_MEMORY_BYTES = int(os.environ.get("FETALBENCH_INFERENCE_MEMORY_BYTES", 8 * 1024**3))
# Docker refuses a CPU quota above the host's CPU count.
INFERENCE_CPUS = min(
    float(os.environ.get("FETALBENCH_INFERENCE_CPUS", 4)), float(os.cpu_count() or 1)
)
INFERENCE_PIDS = int(os.environ.get("FETALBENCH_INFERENCE_PIDS", 256))
INFERENCE_OUTPUT_BYTES = int(os.environ.get("FETALBENCH_INFERENCE_OUTPUT_BYTES", 2 * 1024**3))
INFERENCE_GPU = os.environ.get("FETALBENCH_INFERENCE_GPU", "0") == "1"
# Sandbox containers/images older than this are a crashed worker's leftovers.
SANDBOX_ORPHAN_AGE_S = int(os.environ.get("FETALBENCH_SANDBOX_ORPHAN_AGE_S", 2 * 3600))
# Scratch space for input folders and outputs of runs (deleted after each run).
INFERENCE_SCRATCH = Path(os.environ.get("FETALBENCH_INFERENCE_SCRATCH", VAR_DIR / "inference"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
