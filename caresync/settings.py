"""CareSync settings: one module, every value from the environment.

Each variable is listed in the README's environment table. Secrets may also be
read from a file named by ``<NAME>_FILE`` (Docker/Kubernetes secrets).
"""

import os
import warnings
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    """Return ``name`` from the environment, or the content of the file named by ``name_FILE``."""
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Environment ------------------------------------------------------------
DJANGO_ENV = env_str("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    _missing = [
        name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not env_str(name)
    ]
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production refuses to start without: " + ", ".join(_missing)
        )

SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-key-never-use-in-production")
DEBUG = env_bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Reverse proxies (addresses or networks) whose X-Forwarded-For names the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
PORT = env_int("PORT", 8000)

# --- Applications -------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "csp",
    # Listed before the toolkit so its `createapplication` command extends the toolkit's.
    "caresync.accounts",
    "oauth2_provider",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "caresync.core",
    "caresync.directory",
    "caresync.scheduling",
    "caresync.records",
    "caresync.notifications",
    "caresync.web",
]

MIDDLEWARE = [
    "caresync.core.middleware.ForwardedClientMiddleware",
    "caresync.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "caresync.accounts.signin.TwoFactorEnforcementMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "caresync.urls"
ASGI_APPLICATION = "caresync.asgi.application"
WSGI_APPLICATION = "caresync.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "caresync.core.views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Project templates first, so they can override third-party ones (ReDoc's page
        # would otherwise load fonts from a CDN).
        "DIRS": [BASE_DIR / "caresync" / "web" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "caresync.web.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'caresync.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
    )
}
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0:
    # A connection pool per process (psycopg_pool): a request borrows a connection and
    # gives it back when it ends, so neither a new backend per request (the database's
    # most expensive step) nor connections left behind by ASGI's per-request threads.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_int("DB_POOL_TIMEOUT", 30),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DB_PREPARED_STATEMENTS", default=True
):
    # Query templates (caresync.core.querytemplates) bind their values on the server and are
    # prepared on their first run on a connection, so the database parses and plans each
    # once per connection; the ORM's own queries (client-side binding) are never prepared.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers are serialized (BEGIN IMMEDIATE) so check-then-write inside a
    # transaction cannot race; WAL lets readers proceed during a write.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not shared-cache memory: concurrency tests need real database locking. One
    # per process, so test runs side by side do not share it (removed after the run).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, task broker ---------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "caresync",
            # Redis down must not fail requests (throttling reads the cache): misses are
            # logged, not raised; /health/ still reports the cache down.
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "caresync"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Background tasks (Celery) ------------------------------------------------
# With REDIS_URL, Redis is the broker. Without it, kombu's file-system transport
# is the broker: it needs no server, and the worker plus beat that `make run`
# starts consume from a folder under VAR_DIR.
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"visibility_timeout": 3600}
    if REDIS_URL
    else {
        "data_folder_in": str(VAR_DIR / "celery" / "queue"),
        "data_folder_out": str(VAR_DIR / "celery" / "queue"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The outbox relay has a queue of its own, which every worker also consumes (they consume
# all of CELERY_TASK_QUEUES unless told otherwise): a change's notifications follow it
# within moments even while thousands of deliveries wait in the default queue.
CELERY_TASK_QUEUES = (Queue("celery"), Queue("outbox"))
CELERY_TASK_ROUTES = {"caresync.notifications.tasks.dispatch_outbox": {"queue": "outbox"}}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
HEARTBEAT_INTERVAL_SECONDS = env_int("HEARTBEAT_INTERVAL_SECONDS", 60)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "caresync.core.tasks.heartbeat",
        "schedule": float(HEARTBEAT_INTERVAL_SECONDS),
    },
    "expire-appointment-requests": {
        "task": "caresync.scheduling.tasks.expire_requests",
        "schedule": 300.0,
    },
    "expire-waitlist-offers": {
        "task": "caresync.scheduling.tasks.expire_waitlist_offers",
        "schedule": 60.0,
    },
    "deliver-notifications": {
        "task": "caresync.notifications.tasks.sweep_notifications",
        "schedule": float(env_int("NOTIFICATION_SWEEP_SECONDS", 30)),
    },
    "schedule-reminders": {
        "task": "caresync.notifications.tasks.send_due_reminders",
        "schedule": 60.0,
    },
    "sweep-orphan-attachments": {
        "task": "caresync.records.tasks.sweep_orphan_attachments",
        "schedule": 3600.0,
    },
}

# --- Auth -----------------------------------------------------------------------
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
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "caresync-demo")
# Set-password links in invitation, welcome and reset emails expire after this many hours.
PASSWORD_RESET_TIMEOUT = env_int("ACCOUNT_LINK_HOURS", 72) * 3600
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}")

# --- Email ------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CareSync <no-reply@caresync.test>")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_SECONDS", 10)

# --- Notifications (docs/decisions/0007-notification-delivery.md) --------------------
# SMS transport: the offline backend keeps messages for the development SMS outbox page;
# "caresync.integrations.twilio.client.TwilioSmsTransport" sends through Twilio.
SMS_BACKEND = env_str("SMS_BACKEND", "caresync.integrations.twilio.offline.OfflineSmsTransport")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10)
# Transient failures retry with exponential backoff (base * 2^n, capped, with jitter).
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
NOTIFICATION_RETRY_BASE_SECONDS = env_int("NOTIFICATION_RETRY_BASE_SECONDS", 30)
NOTIFICATION_RETRY_MAX_SECONDS = env_int("NOTIFICATION_RETRY_MAX_SECONDS", 3600)
# A send whose worker vanished is resolved (provider lookup, else resent) after this long.
NOTIFICATION_SENDING_TIMEOUT_SECONDS = env_int("NOTIFICATION_SENDING_TIMEOUT_SECONDS", 300)
REMINDER_OFFSETS_MINUTES = [
    int(minutes) for minutes in env_list("REMINDER_OFFSETS_MINUTES", ["1440", "120"])
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Lockout (django-axes): web sign-in and the OAuth password grant share the counter.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "caresync.accounts.lockout.lockout_response"
AXES_USERNAME_CALLABLE = "caresync.accounts.lockout.lockout_username"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_VERBOSE = False

# OAuth2 (django-oauth-toolkit) with SMART-style scopes.
OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.Application"
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "caresync.accounts.oauth.SmartScopes",
    "OAUTH2_VALIDATOR_CLASS": "caresync.accounts.oauth.CareSyncOAuth2Validator",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_SECONDS", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Follow the OAuth 2.0 Security BCP (RFC 9700) everywhere except the password grant,
    # which first-party apps need (docs/decisions/0003-oauth-password-grant.md). Tokens are
    # stored as SHA-256 checksums only.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "PKCE_REQUIRED": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
}
OTP_TOTP_ISSUER = "CareSync"
BREAK_GLASS_MINUTES = env_int("BREAK_GLASS_MINUTES", 240)
REQUEST_HOLD_HOURS = env_int("REQUEST_HOLD_HOURS", 24)
NO_SHOW_GRACE_MINUTES = env_int("NO_SHOW_GRACE_MINUTES", 15)
# A freed slot is offered to this many waitlisted patients at once, each link valid this long.
WAITLIST_OFFER_BATCH = env_int("WAITLIST_OFFER_BATCH", 3)
WAITLIST_OFFER_MINUTES = env_int("WAITLIST_OFFER_MINUTES", 120)
# The password grant stays on for first-party apps (decision 0003); its RFC 9700 warning
# is acknowledged here rather than hidden from `check --deploy` readers of the code.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W002"]

# --- I18N / time ----------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
# Development serves straight from the apps' static folders; production from STATIC_ROOT.
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", default=PRODUCTION)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Uploaded files (photos, clinical attachments, reports) are private: nothing serves a
# MEDIA_URL; authorized views stream them. With STORAGE_BUCKET they are kept in an S3-compatible
# bucket through django-storages (`pip install caresync[s3]`), private, with signed URLs.
STORAGE_BUCKET = env_str("STORAGE_BUCKET", "")
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": env_str("STORAGE_ENDPOINT_URL", "") or None,
            "region_name": env_str("STORAGE_REGION", "") or None,
            "access_key": env_str("STORAGE_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("STORAGE_SECRET_ACCESS_KEY", "") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- Request limits -----------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
PATIENT_PHOTO_MAX_BYTES = env_int("PATIENT_PHOTO_MAX_BYTES", 2 * 1024 * 1024)
# Clinical attachments (PDF, PNG, JPEG, DICOM), checked by content.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
# When a radiology report is released to the patient portal: "completed" or "reviewed".
RADIOLOGY_RELEASE_AFTER = env_str("RADIOLOGY_RELEASE_AFTER", "completed")

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oauth2_provider.contrib.rest_framework.OAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["caresync.accounts.permissions.PolicyPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "caresync.core.rest.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "caresync.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "caresync.core.throttling.AnonRateThrottle",
        "caresync.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("API_THROTTLE_ANON", "120/minute"),
        "user": env_str("API_THROTTLE_USER", "2000/minute"),
        "account": env_str("API_THROTTLE_ACCOUNT", "20/minute"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = 100

SPECTACULAR_SETTINGS = {
    "TITLE": "CareSync API",
    "DESCRIPTION": (
        "REST API of CareSync. Every error uses one JSON shape: "
        '`{"error": {"code", "message", "fields", "request_id"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "caresync.core.openapi.add_organization_header",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PractitionerKindEnum": "caresync.accounts.models.Membership.PractitionerKind",
        "ResourceKindEnum": "caresync.directory.models.Resource.Kind",
        "AppointmentStatusEnum": "caresync.scheduling.models.Appointment.Status",
        "AppointmentSeriesStatusEnum": "caresync.scheduling.models.AppointmentSeries.Status",
        "ClinicalStatusEnum": "caresync.records.models.ClinicalStatus",
        "AttachmentKindEnum": "caresync.records.models.Attachment.Kind",
        "NewClinicalEntryStatusEnum": "caresync.records.api.NEW_ENTRY_STATUSES",
        "WaitlistEntryStatusEnum": "caresync.scheduling.models.WaitlistEntry.Status",
        "WaitlistOfferStatusEnum": "caresync.scheduling.models.WaitlistOffer.Status",
    },
    "OAUTH2_FLOWS": ["authorizationCode", "password", "clientCredentials"],
    "OAUTH2_AUTHORIZATION_URL": "/api/v1/auth/authorize/",
    "OAUTH2_TOKEN_URL": "/api/v1/auth/token/",
    "OAUTH2_REFRESH_URL": "/api/v1/auth/token/",
}

# --- Security -----------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
CSRF_COOKIE_HTTPONLY = False  # read by the page script that adds X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Logging ------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "caresync.core.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Django's ASGI handler warns once per static file served through WhiteNoise's
# synchronous file iterator; the file is still served correctly.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)
