"""finobs settings, read from the environment in this one place, by concern.

Embedded default (nothing set): SQLite, in-memory channel layer, Celery tasks run in-process.
With DATABASE_URL and REDIS_URL: PostgreSQL (psycopg 3), channels-redis and Celery on Redis.
docs/operations.md lists every variable.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from kernel.logs import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FINOBS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def dev_secret(name: str, make=lambda: secrets.token_urlsafe(50)) -> str:
    """A random secret for development, made once (by `make`) and kept in var/ (never in the repository)."""
    path = VAR_DIR / f".{name}"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def pem_setting(name: str) -> str:
    """PEM text from the variable `name`, or from the file `name`_FILE names; "" when neither is set."""
    text, path = os.environ.get(name, ""), os.environ.get(f"{name}_FILE", "")
    if text and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if path:
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from exc
    return text.replace("\\n", "\n")  # a one-line variable may carry the PEM's line breaks as \n


def dev_rsa_private_key(name: str) -> str:
    """An RSA private key (PEM) for development, made once and kept in var/ (never in the repository)."""
    path = VAR_DIR / f".{name}.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        path.chmod(0o600)
    return path.read_text()


def rsa_public_key_of(private_pem: str, name: str) -> str:
    """The public key (PEM) of an RSA private key; ImproperlyConfigured naming `name` if it is not one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ImproperlyConfigured(f"{name} must be an RSA key of at least 2048 bits (tokens are signed RS256).")
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_public_key(public_pem: str, name: str) -> str:
    """`public_pem` in one canonical PEM form; ImproperlyConfigured naming `name` if it is not an RSA public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImproperlyConfigured(f"{name} must be an RSA public key (tokens are signed RS256).")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = dev_secret("dev_secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "guardian",
    "simple_history",
    "django_celery_beat",
    "channels",
    "axes",
    "csp",
    "django_structlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework_simplejwt.token_blacklist",
    # finobs' own apps, lowest floor first (finobs/tests/test_architecture.py holds the direction)
    "organisations",
    "audit",
    "accounts",
    "apikeys",
    "approvals",
    "scoring",
    "delivery",
    "ingestion",
    "cases",
    "evidence",
    "notifications",
    "finobs",
]

MIDDLEWARE = [
    # First, so a request's time covers the whole chain and every response is counted.
    "kernel.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses the final body (JSON only), so it sits outside every middleware that reads or changes one.
    "kernel.middleware.JsonGZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # The organisation the request runs in (organisations.context), from the signed-in person.
    "organisations.middleware.OrganisationMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "kernel.logs.EchoRequestIdMiddleware",
    "accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "kernel.middleware.NoStoreMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "finobs.urls"
ASGI_APPLICATION = "finobs.asgi.application"

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
                "organisations.context_processors.organisation",
                "notifications.context_processors.bell",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Case attachments: a private directory that no URL serves (downloads go through the case's view,
    # which checks visibility and re-verifies the hash), or an S3-compatible bucket when one is named.
    # Keys are content-addressed and never overwritten.
    "attachments": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["ATTACHMENT_S3_BUCKET"],
            "endpoint_url": os.environ.get("ATTACHMENT_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("ATTACHMENT_S3_REGION") or None,
            "file_overwrite": False,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
    if os.environ.get("ATTACHMENT_S3_BUCKET")
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": os.environ.get("ATTACHMENT_ROOT", str(VAR_DIR / "private")),
            "base_url": None,
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
}

# --- Speed devices, each of which can be turned off to measure it (bench/ab.py) ------------------
# FINOBS_NO_<DEVICE>=1 runs, in the device's place, the plain code a Django project would write
# (kernel.switches); docs/performance.md gives each device's figure with and without. For measuring
# only. The API key cache and group commit have settings of their own (API_KEY_CACHE_S,
# INGEST_COALESCE_MAX_REQUEST_ITEMS).
SPEED_DEVICES = (
    "POOLED_HANDLER",  # finobs.handlers
    "DAPHNE_PATCH",  # finobs.daphne
    "UNSAVED",  # kernel.instances
    "PROCESS_LOOP",  # kernel.async_bridge, in Celery workers
    "EVENT_DATA_KEPT",  # delivery.selectors
    "SHARED_REDIS_CACHE",  # kernel.cache
    "COPY",  # kernel.bulk
    "CALLBACK_CLIENT",  # delivery.services.callbacks
)
SPEED_DEVICES_OFF = frozenset(
    name.removeprefix("FINOBS_NO_") for name in os.environ if name.startswith("FINOBS_NO_") and env_bool(name, False)
)
if SPEED_DEVICES_OFF - set(SPEED_DEVICES):
    raise ImproperlyConfigured(
        f"Not speed devices: {', '.join(sorted(SPEED_DEVICES_OFF - set(SPEED_DEVICES)))} (FINOBS_NO_<one of "
        f"{', '.join(SPEED_DEVICES)}>)"
    )

# On SIGTERM the web process stops accepting connections and waits this long for the requests in flight to be
# answered before it closes the rest (finobs.daphne). Keep it below the supervisor's stop timeout.
SHUTDOWN_GRACE_S = float(os.environ.get("SHUTDOWN_GRACE_S", "25"))

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DATABASE_NAME", "test_finobs")
        # Django keeps connections per context and the web process serves each request in a context of
        # its own (finobs.handlers copies one per request, as Django's ASGI handler does), so a persistent
        # connection is never reused there and every request paid a new PostgreSQL backend (a process
        # fork on the server, authentication, session setup). finobs/asgi.py turns this pool on for the
        # web process; Celery's forked workers keep their persistent connections (a pool's threads do
        # not survive a fork).
        DATABASE_POOL_MAX = int(os.environ.get("DATABASE_POOL_MAX", "0"))
        if DATABASE_POOL_MAX:
            DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django returns the connection to the pool instead
            # CONN_HEALTH_CHECKS (kept on) makes the pool test a connection before handing it out.
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": min(4, DATABASE_POOL_MAX),
                "max_size": DATABASE_POOL_MAX,
                "timeout": 10,
                # While the database is unreachable the pool retries a connection with a doubling delay
                # (1, 2, 4 … s): after a minutes-long outage the next try could come a minute after the
                # database is back. Giving up a try after 10 s lets the next request start a fresh one at
                # 1 s, so recovery follows the database within seconds however long the outage lasted.
                "reconnect_timeout": 10,
            }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            # Django's SQLite backend with writers queued in the process (kernel/sqlite/base.py).
            "ENGINE": "kernel.sqlite",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "finobs.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers never deadlock on upgrade, and
                # a writer waits up to the timeout for its turn (8 concurrent 10,000-item batches queue
                # for well over 20 s on 2 cores) before "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": float(os.environ.get("SQLITE_BUSY_TIMEOUT_S", "120")),
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker: Redis for the channel layer, Celery and the cache ------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 60},
        }
    }
    _cache_backend = (
        "django.core.cache.backends.redis.RedisCache"
        if "SHARED_REDIS_CACHE" in SPEED_DEVICES_OFF
        else "kernel.cache.SharedRedisCache"
    )
    CACHES = {"default": {"BACKEND": _cache_backend, "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The worker's channel layer sends (the outbox relay's hints, the workspace's) give up after this long.
CHANNEL_LAYER_SEND_TIMEOUT_S = 10

# Without Redis, tasks run in-process; Celery still takes a producer from the broker's pool for each one (to
# serialise its arguments as a broker would), so the in-memory broker is named with a host, which it ignores:
# without one kombu warns, as it opens the connection, that it falls back to localhost.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing must not hang a request when Redis is down: the outbox catches up later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Celery's Django fixup closes the worker's database connection before and after every task unless this
# is set (a new PostgreSQL backend per task: the outbox relay runs after most commits). It then closes
# them every 2 x this many tasks; finobs.celery applies CONN_MAX_AGE and CONN_HEALTH_CHECKS before each
# task, as Django does per request.
CELERY_DB_REUSE_MAX = 1000
CELERY_TIMEZONE = "UTC"
# A task is acknowledged when it ends, not when it starts: a worker that dies mid-task leaves it in the
# queue. When a pool child dies under a living worker, the message goes back at once; when the whole
# worker dies, Redis hands it out again only after the visibility timeout. It must outlast the longest
# task (an upload of UPLOAD_MAX_BYTES or a retraining on RETRAIN_MAX_ROWS: minutes) and every countdown
# (CALLBACK_COUNTDOWN_MAX_S), or Redis hands a running task to a second worker. Long jobs do not wait
# for it: they keep a heartbeat, and the stale-job sweep resumes or fails them (finobs.jobs).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_VISIBILITY_TIMEOUT_S = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_S", "3600"))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_S}
# Long jobs (retraining, large exports) in the embedded default: the same Celery tasks on this many
# background threads of the web process (kernel.background), so no request waits on them. With a broker they
# go to the workers. BACKGROUND_TASKS_INLINE runs them inside their caller instead (the demo's replay).
BACKGROUND_WORKERS = int(os.environ.get("BACKGROUND_WORKERS", "1"))
BACKGROUND_TASKS_INLINE = False

# --- Security: people, sessions, lockout, production switches ----------------------------------
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out login stops there.
    "axes.backends.AxesStandaloneBackend",
    # Django's model backend, loading the person's organisation with them.
    "organisations.backends.MemberBackend",
    "guardian.backends.ObjectPermissionBackend",
    # Platform staff in support read the organisation they entered as its viewers do.
    "organisations.backends.SupportAccessBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/cases/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))  # hours
# Lock a username from one address: an attacker cannot lock a user out from everywhere, and users
# behind one proxy address do not share a lockout. Set AXES_IPWARE_PROXY_COUNT behind a proxy.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# The page above for the sign-in page, the API's error shape for the token endpoint.
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("AXES_IPWARE_PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE_S", str(8 * 3600)))
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^health/"]

# Pages and their assets come from this server only: scripts and styles are files (htmx and Chart.js are
# vendored, the API docs' Swagger UI is served from drf-spectacular-sidecar), so no inline code runs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],  # the live updates' WebSockets are same-origin
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Whose sign-in needs a second factor (TOTP, with backup codes): "staff" (people who use Django admin),
# "all" or "none". Deciding four-eyes requests, promoting models and managing API keys need a verified
# session whatever it says, unless "none" (kernel.mfa).
MFA_REQUIRED_FOR = os.environ.get("MFA_REQUIRED_FOR", "staff")
if MFA_REQUIRED_FOR not in {"staff", "all", "none"}:
    raise ImproperlyConfigured(f"MFA_REQUIRED_FOR is staff, all or none; got {MFA_REQUIRED_FOR!r}")
OTP_TOTP_ISSUER = "finobs"

# Personal data in audit payloads is replaced by a keyed hash (audit.pii).
PII_HASH_ENABLED = env_bool("PII_HASH_ENABLED", True)
PII_HASH_SALT = os.environ.get("PII_HASH_SALT", "")
if PII_HASH_ENABLED and not PII_HASH_SALT:
    if not DEBUG:
        raise ImproperlyConfigured("PII_HASH_SALT must be set when DEBUG is off and PII hashing is on.")
    PII_HASH_SALT = dev_secret("dev_pii_salt")
# Secrets stored encrypted (kernel.encryption): callback signing secrets, pull-source credentials.
# Comma-separated Fernet keys, the newest first: it encrypts, all decrypt (rotation, see operations.md).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", "")
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off: one or more Fernet keys, newest first (make one "
            'with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())").'
        )
    FIELD_ENCRYPTION_KEYS = [dev_secret("dev_field_encryption_key", make=lambda: Fernet.generate_key().decode())]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 bytes in url-safe base64)."
        ) from None
# Signed checkpoints of the audit chain head (audit/checkpoints.py). In production point this at
# storage the database's operators cannot rewrite (a WORM bucket mount, another host's share).
AUDIT_CHECKPOINT_PATH = os.environ.get("AUDIT_CHECKPOINT_PATH", str(BASE_DIR / "var" / "audit-checkpoints.jsonl"))
AUDIT_CHECKPOINT_INTERVAL_S = float(os.environ.get("AUDIT_CHECKPOINT_INTERVAL_S", "900"))

# --- Evidence bundles: signed exports, SAR packages, archives (docs/exports.md) ---------------------
# The Ed25519 key that signs every bundle (PEM, PKCS8). With DEBUG on and no file, one is made there once;
# with DEBUG off a missing key refuses exports. EXPORT_KEYRING_PATH keeps the public keys of rotated keys
# (`manage.py rotate_export_key`) so bundles signed before a rotation still verify. Neither is committed.
EXPORT_SIGNING_KEY_PATH = os.environ.get("EXPORT_SIGNING_KEY_PATH", str(VAR_DIR / "export-signing-key.pem"))
EXPORT_KEYRING_PATH = os.environ.get("EXPORT_KEYRING_PATH", str(VAR_DIR / "export-keyring.json"))
# Where finished bundles wait for download; shared storage when web and workers run on several hosts.
EXPORT_PATH = os.environ.get("EXPORT_PATH", str(VAR_DIR / "exports"))
# Audit and transaction exports with more rows than this run as a background job with progress.
EXPORT_INLINE_MAX_ROWS = int(os.environ.get("EXPORT_INLINE_MAX_ROWS", "10000"))

# --- Retention of records (the daily retention run): archived into signed bundles, then removed ---
# SEC 17a-4 keeps books and records 6 years, the BSA SAR records 5: 7 covers both with a margin.
AUDIT_RETENTION_YEARS = int(os.environ.get("AUDIT_RETENTION_YEARS", "7"))
CASE_RETENTION_YEARS = int(os.environ.get("CASE_RETENTION_YEARS", "7"))  # counted from the closure
# Unset (the default) keeps transactions; a number of days archives older ones not linked to any case.
TRANSACTION_RETENTION_DAYS = (
    int(os.environ["TRANSACTION_RETENTION_DAYS"]) if os.environ.get("TRANSACTION_RETENTION_DAYS") else None
)
# Archive bundles, in production on write-once storage kept as long as the regulator requires.
ARCHIVE_PATH = os.environ.get("ARCHIVE_PATH", str(VAR_DIR / "archive"))
for _years in (AUDIT_RETENTION_YEARS, CASE_RETENTION_YEARS):
    if _years < 1:
        raise ImproperlyConfigured("AUDIT_RETENTION_YEARS and CASE_RETENTION_YEARS are at least 1.")

# --- API: DRF, the OpenAPI schema, rate limits, compression -------------------------------------
# A 10,000-item batch is ~3 MB of JSON; allow headroom, and refuse larger bodies with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(16 * 1024 * 1024)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apikeys.authentication.ApiKeyAuthentication",
        # A bearer that is not an API key (fo_…) is a person's access token.
        "accounts.authentication.PersonTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "kernel.api.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "apikeys.throttling.ApiKeyRateThrottle",
        "kernel.api.throttling.PersonRateThrottle",
        "kernel.api.throttling.PersonScopedRateThrottle",
    ],
    "EXCEPTION_HANDLER": "kernel.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "finobs API",
    "DESCRIPTION": "Transaction scoring, decisions and case management for compliance teams.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    # The API docs page's assets from this server (the content security policy allows no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; give each choice set its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "ModelVersionStatusEnum": "scoring.models.ModelVersion.Status",
        "ApprovalStatusEnum": "approvals.models.ApprovalStatus",
        "CaseStatusEnum": "cases.models.Case.Status",
        "DeliveryStatusEnum": "delivery.models.Delivery.Status",
        # Investigations and exports share one set: queued, running, done, failed.
        "RunStatusEnum": "cases.models.Investigation.Status",
        "NotificationKindEnum": "notifications.models.Kind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The SSE stream is an async Django view DRF cannot see.
        "delivery.schema.add_stream_paths",
        "kernel.api.schema.document_errors",
        "ingestion.schema.document_ingest",
    ],
}

# People's bearer tokens (JWT, RS256; accounts.tokens): a short-lived access token and a refresh token that
# is used once (each refresh returns a new pair and blacklists the one used). Signed with JWT_PRIVATE_KEY;
# verified with its public key and, while keys are rotated, JWT_PREVIOUS_PUBLIC_KEY (docs/operations.md).
# With DEBUG on and no key, a development pair is made once in VAR_DIR; with DEBUG off and no key, finobs
# issues and accepts no bearer tokens (JWT_ENABLED is False) and API keys and sessions work as before.
JWT_PRIVATE_KEY = pem_setting("JWT_PRIVATE_KEY")
JWT_PUBLIC_KEY = pem_setting("JWT_PUBLIC_KEY")
JWT_PREVIOUS_PUBLIC_KEY = pem_setting("JWT_PREVIOUS_PUBLIC_KEY")
if not JWT_PRIVATE_KEY and JWT_PUBLIC_KEY:
    raise ImproperlyConfigured("JWT_PUBLIC_KEY is set without JWT_PRIVATE_KEY: set the pair, or neither.")
if not JWT_PRIVATE_KEY and DEBUG:
    JWT_PRIVATE_KEY = dev_rsa_private_key("dev_jwt_private_key")
JWT_ENABLED = bool(JWT_PRIVATE_KEY)
if JWT_ENABLED:
    _derived_public_key = rsa_public_key_of(JWT_PRIVATE_KEY, "JWT_PRIVATE_KEY")
    if JWT_PUBLIC_KEY and rsa_public_key(JWT_PUBLIC_KEY, "JWT_PUBLIC_KEY") != _derived_public_key:
        raise ImproperlyConfigured("JWT_PUBLIC_KEY is not the public key of JWT_PRIVATE_KEY.")
    JWT_PUBLIC_KEY = _derived_public_key
if JWT_PREVIOUS_PUBLIC_KEY:
    JWT_PREVIOUS_PUBLIC_KEY = rsa_public_key(JWT_PREVIOUS_PUBLIC_KEY, "JWT_PREVIOUS_PUBLIC_KEY")
JWT_ACCESS_TOKEN_LIFETIME_S = int(os.environ.get("JWT_ACCESS_TOKEN_LIFETIME_S", str(15 * 60)))
JWT_REFRESH_TOKEN_LIFETIME_S = int(os.environ.get("JWT_REFRESH_TOKEN_LIFETIME_S", str(8 * 3600)))
# A WebSocket without a session must send its token in its first message within this many seconds.
WS_AUTHENTICATE_TIMEOUT_S = float(os.environ.get("WS_AUTHENTICATE_TIMEOUT_S", "5"))
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "ISSUER": "finobs",
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TOKEN_LIFETIME_S),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TOKEN_LIFETIME_S),
    # What accounts.services.tokens does on every refresh, said in simplejwt's own terms.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

# Requests per API key ("600/min"); a key's own `rate_limit` wins, then its endpoint's scope, then the default.
API_KEY_RATE = os.environ.get("API_KEY_RATE", "600/min")
API_KEY_RATE_BY_SCOPE = {
    scope: os.environ[f"API_KEY_RATE_{scope.upper()}"]
    for scope in ("ingest", "read", "stream", "callbacks", "metrics")
    if os.environ.get(f"API_KEY_RATE_{scope.upper()}")
}
# People's limits (kernel.ratelimits): API requests per signed-in person over every endpoint, and each
# person's budget for the requests that cost the server far more than a read, on their page or API endpoint
# alike. A similar-cases search compares a case with up to CASES_SIMILAR_CANDIDATES closed cases' vectors
# (0.1-0.25 s at 100,000 cases): 30 a minute is more case pages than anyone reads, and a stuck tab or a
# script cannot hold a core. Retraining fits a model on up to RETRAIN_MAX_ROWS rows on the worker and
# registers a candidate: 3 an hour leaves room to retry a failed run, and a double-click or a loop cannot
# fill the worker's queue with training runs.
USER_API_RATE = os.environ.get("USER_API_RATE", "600/min")
USER_EXPENSIVE_RATES = {
    "similar_cases": os.environ.get("USER_SIMILAR_CASES_RATE", "30/min"),
    "retrain": os.environ.get("USER_RETRAIN_RATE", "3/hour"),
    "investigations": os.environ.get("USER_INVESTIGATIONS_RATE", "20/min"),
}
# Calls per API key and MCP tool (finobs.mcp): an assistant in a loop cannot take the server's time from
# everyone else, and a refused call tells the model how long to wait.
MCP_TOOL_RATE = os.environ.get("MCP_TOOL_RATE", "60/min")
for _name, _rate in [
    ("API_KEY_RATE", API_KEY_RATE),
    ("MCP_TOOL_RATE", MCP_TOOL_RATE),
    *[(f"API_KEY_RATE_{s.upper()}", r) for s, r in API_KEY_RATE_BY_SCOPE.items()],
    ("USER_API_RATE", USER_API_RATE),
    *[(f"USER_{b.upper()}_RATE", r) for b, r in USER_EXPENSIVE_RATES.items()],
]:
    _count, _, _period = _rate.partition("/")
    if not _count.isdigit() or _period not in {"s", "sec", "m", "min", "h", "hour", "d", "day"}:
        raise ImproperlyConfigured(f"{_name} must look like 600/min (<requests>/<s|min|hour|day>), got {_rate!r}")
# JSON responses of at least this many bytes go out gzip-compressed to clients that accept it
# (kernel.middleware.JsonGZipMiddleware); smaller ones gain less than compressing them costs.
GZIP_MIN_BYTES = int(os.environ.get("GZIP_MIN_BYTES", "1024"))
# How long a web process reuses an API key it read (apikeys.authentication): a revocation or edit made in
# another process reaches it within this many seconds (in the same process at once). 0: read every time.
API_KEY_CACHE_S = float(os.environ.get("API_KEY_CACHE_S", "2"))

# --- Scoring: the model registry, drift, retraining --------------------------------------------
# A candidate becomes champion only when a second person with scoring.promote_model approves it.
MODEL_PROMOTION_REQUIRES_APPROVAL = env_bool("MODEL_PROMOTION_REQUIRES_APPROVAL", True)
# Retraining registers a candidate; with AUTO_PROMOTE it is promoted when it beats the champion.
AUTO_PROMOTE = env_bool("AUTO_PROMOTE", False)
DRIFT_WINDOW = int(os.environ.get("DRIFT_WINDOW", "500"))  # latest decisions compared with training
DRIFT_CHECK_HOURS = float(os.environ.get("DRIFT_CHECK_HOURS", "6"))
# Features (besides the score) that must drift before a drift report starts retraining.
DRIFT_RETRAIN_MIN_FEATURES = int(os.environ.get("DRIFT_RETRAIN_MIN_FEATURES", "3"))
# A drifted report starts no retraining when one was asked for (and did not fail) within this many hours.
DRIFT_RETRAIN_COOLDOWN_H = float(os.environ.get("DRIFT_RETRAIN_COOLDOWN_H", "72"))
RETRAIN_WINDOW_DAYS = int(os.environ.get("RETRAIN_WINDOW_DAYS", "30"))
# The shipped default model each new organisation starts from (scoring.default_model): trained once per
# installation on generated traffic of this size, kept in VAR_DIR.
DEFAULT_MODEL_TRAINING = {"n_accounts": 1000, "days": 21, "seed": 7, "n_estimators": 100}
# Alert budget: the share of decisions the model may flag, and the share the rules may add on top.
ALERT_BUDGET = float(os.environ.get("ALERT_BUDGET", "0.015"))
RULES_ALERT_BUDGET = float(os.environ.get("RULES_ALERT_BUDGET", "0.005"))
# Recalibration of the champion's thresholds to ALERT_BUDGET (scoring.calibration): a rolling window of the
# last N decisions within D days, no recalibration on fewer than M, at most MAX_STEP per step (score units),
# four-eyes for a move beyond APPROVAL_STEP. Run by the calibration task every CALIBRATION_EVERY_S.
CALIBRATION_WINDOW_DECISIONS = int(os.environ.get("CALIBRATION_WINDOW_DECISIONS", "20000"))
CALIBRATION_WINDOW_DAYS = float(os.environ.get("CALIBRATION_WINDOW_DAYS", "7"))
CALIBRATION_MIN_DECISIONS = int(os.environ.get("CALIBRATION_MIN_DECISIONS", "2000"))
CALIBRATION_MAX_STEP = float(os.environ.get("CALIBRATION_MAX_STEP", "0.02"))
CALIBRATION_APPROVAL_STEP = float(os.environ.get("CALIBRATION_APPROVAL_STEP", "0.01"))
CALIBRATION_EVERY_S = int(os.environ.get("CALIBRATION_EVERY_S", "3600"))
RETRAIN_MIN_ROWS = int(os.environ.get("RETRAIN_MIN_ROWS", "2000"))
RETRAIN_MAX_ROWS = int(os.environ.get("RETRAIN_MAX_ROWS", "200000"))
# Retraining adds the supervised classifier once the training window holds this many fraud labels, and
# blends its normalised score into the ensemble with this weight (the detectors share the rest).
SUPERVISED_MIN_POSITIVES = int(os.environ.get("SUPERVISED_MIN_POSITIVES", "200"))
SUPERVISED_WEIGHT = float(os.environ.get("SUPERVISED_WEIGHT", "0.5"))

# --- Cases: the workspace, SLAs ---------------------------------------------------------------
# Hours an analyst has to act on a new case, by severity.
CASE_SLA_HOURS = {
    severity: int(os.environ.get(f"CASE_SLA_HOURS_{severity.upper()}", hours))
    for severity, hours in {"critical": 4, "high": 24, "medium": 72, "low": 168}.items()
}
CASES_SLA_WARNING_HOURS = int(os.environ.get("CASES_SLA_WARNING_HOURS", "4"))
# Worklist page size, and how many past closed cases the similar-case search compares against.
CASES_PAGE_SIZE = int(os.environ.get("CASES_PAGE_SIZE", "50"))
CASES_SIMILAR_CANDIDATES = int(os.environ.get("CASES_SIMILAR_CANDIDATES", "3000"))

# Duplicate suppression (docs/casework.md): for this many days after an account's case closed as a false
# positive, its new flagged transactions wait in a review instead of opening a case (0: off). An
# organisation's rule in admin (cases.SuppressionRule) overrides it.
CASES_SUPPRESSION_DAYS = int(os.environ.get("CASES_SUPPRESSION_DAYS", "14"))

# Case attachments (docs/casework.md): the largest file accepted, the extensions accepted and the content
# types each may have (the sniffed type, and the declared one unless it is generic, must be among them),
# and the malware scanner: "none" (files are clean on arrival) or "clamd" (a clamd daemon at
# ATTACHMENT_CLAMD_ADDRESS, host:port or a unix socket path; files are pending until it answers).
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(25 * 1024 * 1024)))
ATTACHMENT_TYPES = {
    "pdf": ["application/pdf"],
    "png": ["image/png"],
    "jpg": ["image/jpeg"],
    "jpeg": ["image/jpeg"],
    "gif": ["image/gif"],
    "tif": ["image/tiff"],
    "tiff": ["image/tiff"],
    "txt": ["text/plain"],
    "csv": ["text/csv", "text/plain", "application/csv"],
    "eml": ["message/rfc822", "text/plain"],
    "msg": ["application/vnd.ms-outlook", "application/cdfv2", "application/x-ole-storage"],
    "docx": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip"],
    "xlsx": ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"],
}
ATTACHMENT_EXTENSIONS = env_list("ATTACHMENT_EXTENSIONS", ",".join(ATTACHMENT_TYPES))
ATTACHMENT_SCANNER = os.environ.get("ATTACHMENT_SCANNER", "none")
ATTACHMENT_CLAMD_ADDRESS = os.environ.get("ATTACHMENT_CLAMD_ADDRESS", "127.0.0.1:3310")
ATTACHMENT_CLAMD_TIMEOUT_S = float(os.environ.get("ATTACHMENT_CLAMD_TIMEOUT_S", "30"))
if ATTACHMENT_SCANNER not in {"none", "clamd"}:
    raise ImproperlyConfigured("ATTACHMENT_SCANNER is none or clamd.")
# Unassigned cases of a team that assigns automatically are picked up by this sweep too (every interval).
CASES_SLA_SWEEP_INTERVAL_S = float(os.environ.get("CASES_SLA_SWEEP_INTERVAL_S", "60"))
# A case page's socket announces its viewer this often; a viewer not heard of for 3 intervals has gone.
CASES_PRESENCE_HEARTBEAT_S = float(os.environ.get("CASES_PRESENCE_HEARTBEAT_S", "20"))
# Transaction search (page and API): rows per page, and the widest time range one search may cover.
TRANSACTION_SEARCH_PAGE_SIZE = int(os.environ.get("TRANSACTION_SEARCH_PAGE_SIZE", "50"))
TRANSACTION_SEARCH_MAX_DAYS = int(os.environ.get("TRANSACTION_SEARCH_MAX_DAYS", "366"))

# --- Notifications: the bell, email -------------------------------------------------------------
# Email goes through Django's backend: SMTP when EMAIL_HOST is set, else one file per message in EMAIL_FILE_PATH
# (readable there, and the server's output stays the server's).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "finobs <finobs@localhost>")
# Links in emails start with this (the address people open finobs at).
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")
# A person's email choice per kind until they make their own: off, immediate or digest (one per hour).
NOTIFICATION_EMAIL_DEFAULTS = {
    kind: os.environ.get(f"NOTIFICATION_EMAIL_{kind.upper()}", mode)
    for kind, mode in {
        "mention": "immediate",
        "assignment": "digest",
        "approval": "digest",
        "sla": "immediate",
        "investigation": "digest",
    }.items()
}
NOTIFICATION_DIGEST_INTERVAL_S = float(os.environ.get("NOTIFICATION_DIGEST_INTERVAL_S", "300"))

# --- Intake: ingest limits, group commit, idempotency, pull sources, CSV uploads ----------------
INGEST_MAX_BATCH = int(os.environ.get("INGEST_MAX_BATCH", "10000"))
# Concurrent API requests of up to this many items from one key share one ingest run (group commit,
# ingestion.services.coalescing; 0 turns it off), a run taking up to INGEST_COALESCE_MAX_RUN_ITEMS.
INGEST_COALESCE_MAX_REQUEST_ITEMS = int(os.environ.get("INGEST_COALESCE_MAX_REQUEST_ITEMS", "100"))
INGEST_COALESCE_MAX_RUN_ITEMS = int(os.environ.get("INGEST_COALESCE_MAX_RUN_ITEMS", "1000"))
# How long a stored response is replayed for the same Idempotency-Key; beat prunes older keys hourly.
IDEMPOTENCY_TTL_HOURS = float(os.environ.get("IDEMPOTENCY_TTL_HOURS", "24"))
# Pull sources may only call public hosts unless this is on (tests, on-premise sources).
PULL_ALLOW_PRIVATE = env_bool("PULL_ALLOW_PRIVATE", False)
PULL_TIMEOUT_S = float(os.environ.get("PULL_TIMEOUT_S", "10"))
PULL_MAX_RESPONSE_BYTES = int(os.environ.get("PULL_MAX_RESPONSE_BYTES", str(32 * 1024 * 1024)))
# After the n-th failure in a row a source waits min(base * 2**(n-1), max); from the threshold on it
# stays open for the maximum (circuit breaker) until a run succeeds or an admin resets it.
PULL_BACKOFF_BASE_S = int(os.environ.get("PULL_BACKOFF_BASE_S", "60"))
PULL_BACKOFF_MAX_S = int(os.environ.get("PULL_BACKOFF_MAX_S", "3600"))
PULL_BREAKER_THRESHOLD = int(os.environ.get("PULL_BREAKER_THRESHOLD", "5"))
# A run holding a source longer than this is taken to be from a crashed worker and may be overtaken.
PULL_RUN_STALE_S = int(os.environ.get("PULL_RUN_STALE_S", "900"))
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", str(20 * 1024 * 1024)))
UPLOAD_CHUNK_ROWS = int(os.environ.get("UPLOAD_CHUNK_ROWS", "1000"))
UPLOAD_MAX_ERRORS = int(os.environ.get("UPLOAD_MAX_ERRORS", "1000"))
UPLOAD_DEFAULT_SOURCE = os.environ.get("UPLOAD_DEFAULT_SOURCE", "csv-upload")

# --- Long jobs (uploads, pull runs, retraining): heartbeats and the stale-job sweep ----------------
# A running job records a heartbeat per chunk or page, and at least every JOB_HEARTBEAT_S; beat's sweep
# takes a job whose heartbeat is older than JOB_STALE_AFTER_S (or a queued one never started for as
# long) to be lost with its worker: uploads and pulls are resumed, retraining fails with the reason.
JOB_HEARTBEAT_S = float(os.environ.get("JOB_HEARTBEAT_S", "15"))
JOB_STALE_AFTER_S = float(os.environ.get("JOB_STALE_AFTER_S", "120"))
JOB_MAX_RESUMES = int(os.environ.get("JOB_MAX_RESUMES", "3"))  # then the job fails and says so
JOB_SWEEP_INTERVAL_S = float(os.environ.get("JOB_SWEEP_INTERVAL_S", "60"))
if JOB_STALE_AFTER_S <= 2 * JOB_HEARTBEAT_S:
    raise ImproperlyConfigured("JOB_STALE_AFTER_S must be more than twice JOB_HEARTBEAT_S.")

# --- Retention: what the daily prune removes (records with a regulated period: see above) ------
PRUNE_BATCH_ROWS = int(os.environ.get("PRUNE_BATCH_ROWS", "5000"))  # rows per statement, committed one by one
DELIVERY_RETENTION_DAYS = int(os.environ.get("DELIVERY_RETENTION_DAYS", "30"))  # delivered callbacks
PULL_RUN_SKIPPED_RETENTION_DAYS = int(os.environ.get("PULL_RUN_SKIPPED_RETENTION_DAYS", "7"))
UPLOAD_CONTENT_RETENTION_DAYS = int(os.environ.get("UPLOAD_CONTENT_RETENTION_DAYS", "30"))  # the CSV text
SIGN_IN_RECORD_RETENTION_DAYS = int(os.environ.get("SIGN_IN_RECORD_RETENTION_DAYS", "90"))  # django-axes rows

# --- Delivery: the outbox relay, live streams, callbacks ----------------------------------------
OUTBOX_RELAY_INTERVAL_S = int(os.environ.get("OUTBOX_RELAY_INTERVAL_S", "10"))
# A queued relay task covers later commits; if it is lost, another is enqueued after this long (and beat runs).
OUTBOX_RELAY_QUEUED_TTL_S = int(os.environ.get("OUTBOX_RELAY_QUEUED_TTL_S", "5"))
# While events keep coming, a relay that found some queues the next one this much later (see
# delivery.services.outbox): the live streams lag by up to this much under load, not when idle.
OUTBOX_RELAY_BUSY_INTERVAL_MS = int(os.environ.get("OUTBOX_RELAY_BUSY_INTERVAL_MS", "100"))
OUTBOX_RETENTION_DAYS = int(os.environ.get("OUTBOX_RETENTION_DAYS", "7"))  # published events kept for replay
STREAM_POLL_S = float(os.environ.get("STREAM_POLL_S", "3"))  # subscribers re-read the outbox without hints
SSE_HEARTBEAT_S = float(os.environ.get("SSE_HEARTBEAT_S", "15"))  # comment line that keeps proxies open
SSE_RETRY_MS = int(os.environ.get("SSE_RETRY_MS", "3000"))  # the `retry:` a client waits before reconnecting
CALLBACK_TIMEOUT_S = float(os.environ.get("CALLBACK_TIMEOUT_S", "5"))
CALLBACK_MAX_ATTEMPTS = int(os.environ.get("CALLBACK_MAX_ATTEMPTS", "4"))  # the first send and 3 retries
CALLBACK_RETRY_BASE_S = float(os.environ.get("CALLBACK_RETRY_BASE_S", "30"))  # full jitter up to base * 2^(n-1)
CALLBACK_RETRY_MAX_S = float(os.environ.get("CALLBACK_RETRY_MAX_S", "900"))
CALLBACK_BREAKER_THRESHOLD = int(os.environ.get("CALLBACK_BREAKER_THRESHOLD", "5"))  # consecutive failures
CALLBACK_BREAKER_COOLDOWN_S = float(os.environ.get("CALLBACK_BREAKER_COOLDOWN_S", "300"))
CALLBACK_ALLOW_PRIVATE = env_bool("CALLBACK_ALLOW_PRIVATE", False)  # SSRF guard; only for on-premise receivers
# A rotated secret keeps signing (second signature) this long, so receivers can switch without loss.
CALLBACK_SECRET_GRACE_S = float(os.environ.get("CALLBACK_SECRET_GRACE_S", "86400"))
# Outbox events are fanned out at once, but an endpoint's cursor only passes events this old: an
# event committed late by a slower transaction (lower id, visible later) is still picked up.
CALLBACK_FANOUT_SETTLE_S = float(os.environ.get("CALLBACK_FANOUT_SETTLE_S", "10"))
CALLBACK_FANOUT_BATCH = int(os.environ.get("CALLBACK_FANOUT_BATCH", "5000"))
CALLBACK_DUE_INTERVAL_S = float(os.environ.get("CALLBACK_DUE_INTERVAL_S", "30"))
# Celery countdowns stay far below Redis' visibility timeout (1 h); later retries are sent by the beat task.
CALLBACK_COUNTDOWN_MAX_S = 600

# --- The investigation agent (docs/investigations.md) -------------------------------------------------
# offline: the deterministic provider shipped with finobs (no key, no network); openai or anthropic with
# FINOBS_AGENT_MODEL naming the model and their packages from requirements-agent-providers.txt.
FINOBS_AGENT_PROVIDER = os.environ.get("FINOBS_AGENT_PROVIDER", "offline")
FINOBS_AGENT_MODEL = os.environ.get("FINOBS_AGENT_MODEL", "")
FINOBS_AGENT_TIMEOUT_S = float(os.environ.get("FINOBS_AGENT_TIMEOUT_S", "30"))
FINOBS_AGENT_MAX_STEPS = int(os.environ.get("FINOBS_AGENT_MAX_STEPS", "30"))  # graph steps per investigation
# A drafted rule's backtest during an investigation replays this many of the latest stored transactions; the
# activation request (maker-checker) and the rules admin replay scoring.services.rule_drafts.BACKTEST_WINDOW.
FINOBS_AGENT_BACKTEST_WINDOW = int(os.environ.get("FINOBS_AGENT_BACKTEST_WINDOW", "10000"))
# Continuous mode: every interval, up to BUDGET new HIGH/CRITICAL cases (or cases whose evidence changed)
# without an investigation in the last REINVESTIGATE_AFTER_H hours are investigated.
AGENT_CONTINUOUS_INTERVAL_S = float(os.environ.get("AGENT_CONTINUOUS_INTERVAL_S", "300"))
AGENT_CONTINUOUS_BUDGET = int(os.environ.get("AGENT_CONTINUOUS_BUDGET", "20"))
AGENT_REINVESTIGATE_AFTER_H = float(os.environ.get("AGENT_REINVESTIGATE_AFTER_H", "24"))

# --- Periodic work (beat) ------------------------------------------------------------------------
CELERY_BEAT_SCHEDULE = {
    "outbox-relay": {"task": "delivery.tasks.outbox_relay_task", "schedule": OUTBOX_RELAY_INTERVAL_S},
    "outbox-prune": {"task": "delivery.tasks.outbox_prune_task", "schedule": 3600},
    "callback-deliveries-due": {
        "task": "delivery.tasks.deliveries_enqueue_due_task",
        "schedule": CALLBACK_DUE_INTERVAL_S,
    },
    "idempotency-prune": {"task": "ingestion.tasks.idempotency_prune_task", "schedule": 3600},
    # Long jobs (uploads, pull runs, retraining, exports) whose worker was lost: resumed or failed (finobs.jobs).
    "stale-jobs-sweep": {"task": "finobs.tasks.stale_jobs_sweep_task", "schedule": JOB_SWEEP_INTERVAL_S},
    # Tables that only grow: delivered callbacks, skipped pull runs, old uploads' files, sessions, sign-ins;
    # then records past their retention (closed cases, transactions, audit events): archived, signed, removed.
    "retention-prune": {"task": "finobs.tasks.retention_prune_task", "schedule": 24 * 3600},
    "audit-checkpoint": {"task": "audit.tasks.audit_checkpoint_task", "schedule": AUDIT_CHECKPOINT_INTERVAL_S},
    # A drift report every DRIFT_CHECK_HOURS; past the threshold it starts retraining.
    "scoring-drift-check": {"task": "scoring.tasks.drift_check_task", "schedule": DRIFT_CHECK_HOURS * 3600},
    # The champion's thresholds recalibrated to ALERT_BUDGET (four-eyes beyond CALIBRATION_APPROVAL_STEP).
    "scoring-thresholds-recalibrate": {
        "task": "scoring.tasks.thresholds_recalibrate_task",
        "schedule": CALIBRATION_EVERY_S,
    },
    # SLA warnings and breaches (notify, escalate), and auto-assignment of what waits unassigned.
    "cases-sla-sweep": {"task": "cases.tasks.sla_sweep_task", "schedule": CASES_SLA_SWEEP_INTERVAL_S},
    "notification-digests": {
        "task": "notifications.tasks.notification_digests_task",
        "schedule": NOTIFICATION_DIGEST_INTERVAL_S,
    },
    # The agent investigates new severe cases, within a budget per run (cases.services.investigations).
    "agent-continuous": {"task": "cases.tasks.investigations_continuous_task", "schedule": AGENT_CONTINUOUS_INTERVAL_S},
    # Attachments a scanner outage left pending past their scan task's retries.
    "attachments-scan-sweep": {"task": "cases.tasks.attachments_scan_sweep_task", "schedule": 900},
}

# --- Observability: metrics, logs (tracing: finobs.telemetry, from the standard OTEL_* variables) ---
# prometheus_client's multiprocess mode: every web and worker process writes its counters and histograms
# to files in this directory, and /metrics sums them. prometheus_client reads the variable itself when it
# is first imported, so it comes from the environment, never from here. Unset: each process keeps its own
# (the embedded default is one process). Clear the directory when a deployment starts, not per process.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR is not None:
    if not PROMETHEUS_MULTIPROC_DIR:
        raise ImproperlyConfigured("PROMETHEUS_MULTIPROC_DIR is set but empty: name a directory, or unset it.")
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Readiness reports a Celery worker as stale when none has sent a heartbeat for this long.
WORKER_HEARTBEAT_STALE_S = float(os.environ.get("WORKER_HEARTBEAT_STALE_S", "120"))

# JSON lines in production, readable text in development; each carries the request id, user, API key
# prefix and trace id (kernel.logs). X-Request-ID from the client is trusted only behind a proxy that sets it.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "console" if DEBUG else "json")
LOGGING = logging_config(
    as_json=LOG_FORMAT == "json",
    level=os.environ.get("LOG_LEVEL", "INFO"),
    library_level=os.environ.get("LOG_LEVEL", "WARNING"),
)
configure_structlog()
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = env_bool("REQUEST_ID_FROM_PROXY", False)
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # addresses are personal data; the proxy's logs have them
