"""Settings from the environment, with safe defaults that run on one machine (SQLite, local files)."""

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

from fundushub.lib import data_dir, hosts, subject_pattern
from fundushub.lib.client_ip import parse_networks
from fundushub.lib.env import env_bool, env_int, env_list
from fundushub.lib.secret import read_or_create_key

BASE_DIR = Path(__file__).resolve().parent
# Private to the user we run as (umask 077, the folder 0700, its files 0600): it holds patients' images.
DATA_DIR = data_dir.prepare(Path(os.environ.get("FUNDUSHUB_DATA_DIR", "var")).resolve())
MEDIA_ROOT = DATA_DIR / "media"
STAGING_DIR = MEDIA_ROOT / "staging"
STAGING_DIR.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)


def _secret_key() -> str:
    """Use SECRET_KEY when given; otherwise generate one once and keep it in the data directory."""
    return os.environ.get("SECRET_KEY") or read_or_create_key(DATA_DIR / "secret_key")


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
# Host names: ALLOWED_HOSTS when given; else those `fundushub demo`/`serve` was started for
# (lib/hosts.py), else the local names. An HTTPS deployment must name its hosts itself.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    if env_bool("HTTPS", False):
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is not set. With HTTPS=true (a production deployment) set it to the "
            "host names this site is reached by, e.g. ALLOWED_HOSTS=hub.example.org"
        )
    ALLOWED_HOSTS = env_list(hosts.ENV, hosts.LOCAL_NAMES)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "fundushub.accounts",
    "fundushub.catalog",
    "fundushub.audit",
    "fundushub.store",
    "fundushub.checks",
    "fundushub.grading",
    "fundushub.library",
    "fundushub.uploads",
    "fundushub.camera",
    "fundushub.worker",  # project level: the worker command runs every app's tasks
    "fundushub.operations",  # project level: health probes and metrics read every app
]

MIDDLEWARE = [
    # Outermost: the request's id and its one log line (lib/requestlog.py) cover all the rest.
    "fundushub.lib.requestlog.request_log",
    # Requests and latency per route (operations/traffic.py), probes included.
    "fundushub.operations.traffic.count_requests",
    # Health probes and token scrapes, before ALLOWED_HOSTS and the HTTPS redirect (probes.py).
    "fundushub.operations.probes.answer_probes",
    "fundushub.lib.timing.server_timing",
    "django.middleware.security.SecurityMiddleware",
    # Before whitenoise, so static files carry the policies too.
    "csp.middleware.CSPMiddleware",
    "fundushub.lib.headers.permissions_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Gives require_http_methods' empty 405 the site's error page (JSON under /api/).
    "fundushub.errors.method_not_allowed_page",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: turns a refused sign-in into the lockout page (accounts.logins).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fundushub.urls"
WSGI_APPLICATION = "fundushub.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# Axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-in throttling (django-axes): a username, or an address, with this many failed sign-ins
# within the cool-off is locked out for the cool-off; each refused attempt restarts it.
AXES_FAILURE_LIMIT = max(1, env_int("FUNDUSHUB_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=max(1, env_int("FUNDUSHUB_LOGIN_LOCKOUT_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "fundushub.lib.client_ip.client_ip"  # as the audit log takes it
AXES_LOCKOUT_CALLABLE = "fundushub.accounts.logins.lockout_response"
AXES_RESET_ON_SUCCESS = False  # a success elsewhere must not wipe the count against a username
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": max(8, env_int("FUNDUSHUB_PASSWORD_MIN_LENGTH", 10))},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
# Without ?next=, each role lands on a page it may open (accounts.views.landing_url).
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "/accounts/login/"

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
                "fundushub.accounts.roles.context",
            ],
        },
    },
]

# SQLite by default: WAL so readers never block the writer, IMMEDIATE so write transactions take
# the lock up front instead of failing half-way with "database is locked".
_SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
# Keep each thread's connection: opening one (and running its PRAGMAs) on every request cost
# more than a camera upload's own work. Between requests a connection holds no transaction.
_SQLITE_CONN_MAX_AGE = 600
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
        DATABASES["default"]["CONN_MAX_AGE"] = _SQLITE_CONN_MAX_AGE
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "fundushub.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
            "CONN_MAX_AGE": _SQLITE_CONN_MAX_AGE,
        }
    }
# Test databases are named per test run, so concurrent runs on one machine never collide; SQLite's
# is a file, not memory, so the worker and server processes a test starts can share it.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    _test_db = (
        Path(tempfile.gettempdir()) / f"fundushub-test-{os.getpid()}-{secrets.token_hex(4)}.sqlite3"
    )
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}
else:
    _suffix = f"{os.getpid()}_{secrets.token_hex(4)}"
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_suffix}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Files: local by default; S3-compatible when FUNDUSHUB_S3_BUCKET is set (django-storages + boto3).
# Credentials are boto3's own (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an
# instance role): they never pass through these settings (see lib/s3.py).
if os.environ.get("FUNDUSHUB_S3_BUCKET"):
    from fundushub.lib.s3 import s3_options

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_options(
            os.environ["FUNDUSHUB_S3_BUCKET"],
            endpoint_url=os.environ.get("FUNDUSHUB_S3_ENDPOINT_URL"),
            region=os.environ.get("FUNDUSHUB_S3_REGION"),
            prefix=os.environ.get("FUNDUSHUB_S3_PREFIX", ""),
            addressing_style=os.environ.get("FUNDUSHUB_S3_ADDRESSING_STYLE"),
        ),
    }
else:
    # Content-addressed names: a second save of the same key replaces identical bytes in place.
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Uploads stream to files beside the media root, so storing one is a rename, never a copy.
FILE_UPLOAD_TEMP_DIR = str(STAGING_DIR)
# Django's storage would chmod what it saves to 0644 whatever the umask: keep stored files private.
FILE_UPLOAD_PERMISSIONS = data_dir.PRIVATE_FILE
FILE_UPLOAD_DIRECTORY_PERMISSIONS = data_dir.PRIVATE_DIR
# Over-cap files are rejected visibly by the upload handler, so Django's own cap only stops abuse.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 10_000)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Direct-upload limits (the user's document names these variables); admins can override at runtime.
DIRECT_UPLOAD_MAX_FILE_SIZE_MB = env_int("DIRECT_UPLOAD_MAX_FILE_SIZE_MB", 5)
DIRECT_UPLOAD_MAX_FILES = env_int("DIRECT_UPLOAD_MAX_FILES", 100)
MAX_FILES_PER_UPLOAD = env_int("MAX_FILES_PER_UPLOAD", 50)  # lifetime quota per user; 0 = unlimited
# Direct uploads may read each file's subject from its name with this regular expression
# (bounded, and refused here if unusable: lib/subject_pattern.py); a form may give its own.
FUNDUSHUB_SUBJECT_PATTERN = subject_pattern.configured("FUNDUSHUB_SUBJECT_PATTERN")
# A claimed item whose worker has not finished it within this many seconds is given to another.
FUNDUSHUB_ITEM_LEASE_SECONDS = env_int("FUNDUSHUB_ITEM_LEASE_SECONDS", 120)
# Tries per file (a failure or a worker that died counts) before it ends as an error: at least 1.
FUNDUSHUB_MAX_ATTEMPTS = max(1, env_int("FUNDUSHUB_MAX_ATTEMPTS", 3))
FUNDUSHUB_REAPER_INTERVAL = env_int("FUNDUSHUB_REAPER_INTERVAL", 15)
# Pages say "Waiting for a worker" once no worker has beaten (every 10 s) for this long.
FUNDUSHUB_WORKER_STALE_SECONDS = max(20, env_int("FUNDUSHUB_WORKER_STALE_SECONDS", 60))
FUNDUSHUB_THUMBNAIL_SIZE = env_int("FUNDUSHUB_THUMBNAIL_SIZE", 384)
# Checks at ingest (checks/): queued after each new image is stored ("off": not queued); the
# checks of one image stop after this many seconds and the rest are recorded as not run.
FUNDUSHUB_CHECKS = env_bool("FUNDUSHUB_CHECKS", True)
FUNDUSHUB_CHECKS_SECONDS = max(1, env_int("FUNDUSHUB_CHECKS_SECONDS", 30))
# /health/ready (operations/checks.py): not ready while work waits and no worker has beaten for
# this long; while more than MAX_QUEUE_DEPTH wait; or while the oldest has waited MAX_QUEUE_AGE
# (0 turns a limit off).
FUNDUSHUB_HEALTH_HEARTBEAT_MAX_AGE = env_int(
    "FUNDUSHUB_HEALTH_HEARTBEAT_MAX_AGE", FUNDUSHUB_WORKER_STALE_SECONDS
)
FUNDUSHUB_HEALTH_MAX_QUEUE_DEPTH = env_int("FUNDUSHUB_HEALTH_MAX_QUEUE_DEPTH", 0)
FUNDUSHUB_HEALTH_MAX_QUEUE_AGE_SECONDS = env_int("FUNDUSHUB_HEALTH_MAX_QUEUE_AGE_SECONDS", 3600)
# /metrics answers staff, and a scraper sending `Authorization: Bearer <this>`; unset, staff only.
FUNDUSHUB_METRICS_TOKEN = os.environ.get("FUNDUSHUB_METRICS_TOKEN", "").strip()
FUNDUSHUB_METRICS_CAMERA_WINDOW_SECONDS = max(
    60, env_int("FUNDUSHUB_METRICS_CAMERA_WINDOW_SECONDS", 3600)
)

# Camera API: "session" (subjects must be registered; sessions made on resolve) or "register"
# (staff register exams beforehand; resolve never creates one).
CAMERA_API_MODE = os.environ.get("FUNDUSHUB_CAMERA_API_MODE", "session")
if CAMERA_API_MODE not in ("session", "register"):
    raise ImproperlyConfigured("FUNDUSHUB_CAMERA_API_MODE must be 'session' or 'register'")
CAMERA_REACTIVATION_HOURS = env_int("FUNDUSHUB_CAMERA_REACTIVATION_HOURS", 24)
CAMERA_MAX_UPLOAD_MB = env_int("FUNDUSHUB_CAMERA_MAX_UPLOAD_MB", 64)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["fundushub.camera.auth.DeviceTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["fundushub.camera.auth.IsCameraDevice"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies through the one bounded parser (lib/jsonbody.py): never a RecursionError or 1e999.
    "DEFAULT_PARSER_CLASSES": [
        "fundushub.lib.jsonbody.JSONBodyParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fundus Hub camera API",
    "DESCRIPTION": "Ingestion API for fundus camera watchdogs (both field-client generations), "
    "and the JSON the site's pages use (tag `pages`, signed in by the session cookie).",
    "VERSION": "1",
    "ENUM_NAME_OVERRIDES": {"FileTypeEnum": "fundushub.camera.models.FILE_TYPES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "fundushub.openapi.add_page_apis",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI from the installed sidecar package: hospitals often have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and env_bool("HTTPS", False))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("HTTPS", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_HTTPS_PROXY", False) else None
)
# Proxies (addresses or CIDR networks) whose X-Forwarded-For is believed for the client's address
# in the audit log (lib/client_ip.py); checked here so a typo stops the start, not a request.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
parse_networks(tuple(TRUSTED_PROXIES))
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles only from our own static files — no
# inline script, event handler or style attribute — and nothing from any other origin (clinics
# are often offline, and nothing may load from a CDN). Media responses set a stricter one.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:", "blob:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.NONE],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
# One clinic format on every page and in the admin: ISO dates, 24-hour times, in TIME_ZONE.
# The locale's own formats would win over these settings, so fundushub/formats repeats them.
DATE_FORMAT = SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
FORMAT_MODULE_PATH = ["fundushub.formats"]

# LOG_FORMAT=json: one JSON object a line (lib/jsonlog.py), with a line per request
# (lib/requestlog.py) and per item state change (lib/statelog.py); "plain" (the default) keeps
# those two quiet, for a person reading a console.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
_EVENT_LEVEL = "INFO" if LOG_FORMAT == "json" else "WARNING"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "fundushub.lib.jsonlog.JsonFormatter"},
    },
    "filters": {
        # A 4xx (an ordinary 403, a bad request) is one warning line, never a traceback.
        "client_errors": {"()": "fundushub.lib.logs.ClientErrorsWithoutTraceback"},
        "request_id": {"()": "fundushub.lib.requestlog.RequestIdFilter"},
        # Tokens, passwords and cookies never reach a log line, in either format.
        "secrets": {"()": "fundushub.lib.jsonlog.RedactSecrets"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["client_errors", "request_id", "secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Their debug lines carry request headers (signed, but still credentials): never below.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "s3transfer": {"level": "WARNING"},
        "fundushub.requests": {"level": _EVENT_LEVEL},
        "fundushub.states": {"level": _EVENT_LEVEL},
    },
}
