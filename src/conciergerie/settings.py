"""Django settings, all driven by CONCIERGERIE_* environment variables (see README)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.utils.translation import gettext_lazy as _

from conciergerie import config

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = config.data_dir()

SECRET_KEY = config.secret_key()
DEBUG = config.env_bool("DEBUG")
# bench/bookings measures against a plain-INSERT endpoint; never on in production.
BENCH_ENDPOINTS = config.env_bool("BENCH")
# Online payment adapter, "package.module.ClassName" (billing/providers.py); none by default.
PAYMENT_PROVIDER = config.env("PAYMENT_PROVIDER", "")

BASE_URL = config.env("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_base = urlsplit(BASE_URL)
ALLOWED_HOSTS = [
    h.strip()
    for h in config.env("ALLOWED_HOSTS", f"{_base.hostname},127.0.0.1,localhost").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "conciergerie.core",
    "conciergerie.community",
    "conciergerie.spaces",
    "conciergerie.events",
    "conciergerie.billing",
    "conciergerie.commons",
    "conciergerie.federation",
    "conciergerie.opendata",
    "conciergerie.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "conciergerie.urls"
WSGI_APPLICATION = "conciergerie.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "conciergerie.core.context_processors.conciergerie",
            ],
        },
    }
]

DATABASES = {"default": dj_database_url.parse(config.database_url(), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open like PostgreSQL's: a new SQLite connection re-reads the schema and
    # re-prepares every statement (measured: 4x slower plain writes, 2x slower bookings).
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE makes every
        # transaction take the write lock up front, so writers queue instead of
        # failing with "database is locked" half-way through.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = ["conciergerie.core.auth.EmailBackend"]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# Login rate limit: this many failures per e-mail or per address in the window.
LOGIN_MAX_FAILURES = int(config.env("LOGIN_MAX_FAILURES", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(config.env("LOGIN_FAILURE_WINDOW", "900"))
# How long a booking or registration waits for another one on the same thing (seconds).
CAPACITY_LOCK_TIMEOUT = float(config.env("CAPACITY_LOCK_TIMEOUT", "5"))

# Federation (ActivityPub between instances). Outbound fetches never reach private, loopback
# or link-local addresses; this lets them reach loopback only: for tests and instances
# sharing one machine, never in production.
FEDERATION_ALLOW_LOOPBACK = config.env_bool("FEDERATION_ALLOW_LOOPBACK")
# "Authorized fetch": an unsigned GET asking for ActivityPub JSON (outbox, collections,
# objects, activities) is refused with 401. Signed GETs are always verified, and refused
# (403) from blocked instances and accounts, with this on or off.
FEDERATION_AUTHORIZED_FETCH = config.env_bool("FEDERATION_AUTHORIZED_FETCH")
# Largest body accepted from another instance, in an inbox POST or a fetched document.
FEDERATION_MAX_BODY_BYTES = int(config.env("FEDERATION_MAX_BODY_BYTES", str(256 * 1024)))
# A signed request older (or newer) than this, by its Date header, is refused (seconds).
FEDERATION_SIGNATURE_MAX_AGE = int(config.env("FEDERATION_SIGNATURE_MAX_AGE", "3600"))
FEDERATION_HTTP_TIMEOUT = float(config.env("FEDERATION_HTTP_TIMEOUT", "10"))
# First wait before delivering again to an inbox that failed (seconds); it doubles each time.
FEDERATION_RETRY_FIRST = float(config.env("FEDERATION_RETRY_FIRST", "60"))

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English")), ("es", _("Español"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
_secure = _base.scheme == "https"
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if _secure:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 3600 * 24 * 30

# Without an SMTP host, e-mails only land in the outbox readable in the UI (the demo's case).
EMAIL_HOST = config.env("EMAIL_HOST")
EMAIL_BACKEND = config.env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "conciergerie.core.mail.OutboxEmailBackend",
)
EMAIL_PORT = int(config.env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = config.env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = config.env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = config.env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = config.env("DEFAULT_FROM_EMAIL", f"conciergerie@{_base.hostname}")

TASKS = {
    "default": {
        "BACKEND": config.env("TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": config.env("LOG_LEVEL", "WARNING")},
}
