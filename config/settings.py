"""Settings for the jobs app.

Every value that differs between machines comes from the environment, read once here through
django-environ. Each default is written once: the project's own in ``DEV_DEFAULTS`` below, each
app's in its ``conf.py`` (``DEFAULTS``), which this module reads the environment with. Production
sets its own values. The README's configuration table is checked against both by
``tests/test_settings_documented.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from api.conf import DEFAULTS as API_DEFAULTS
from briefs.conf import DEFAULTS as BRIEFS_DEFAULTS
from credits.conf import DEFAULTS as CREDITS_DEFAULTS
from jobs.conf import DEFAULTS as JOBS_DEFAULTS

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_DEFAULTS = {
    "DEBUG": (bool, False),
    "SECRET_KEY": (str, "dev-only-insecure-secret-key-change-me"),
    "ALLOWED_HOSTS": (list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    "DATABASE_URL": (str, f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
    "CONN_MAX_AGE": (int, 60),
    "DATABASE_POOL": (bool, False),
    "LOG_LEVEL": (str, "INFO"),
    "MEDIA_ROOT": (str, str(BASE_DIR / "var" / "media")),
    "HTTPS": (bool, False),
}

env = environ.Env(**DEV_DEFAULTS)
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "jobs",
    "credits",
    "briefs",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.limits.BodyLimitMiddleware",
    "api.limits.NulCharacterMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# Uploads stop at BRIEFS_ASSET_MAX_BYTES (api/limits.py), before Django's own handlers.
FILE_UPLOAD_HANDLERS = [
    "api.limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

ROOT_URLCONF = "config.urls"
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
            ],
        },
    },
]


def _database(url: str) -> dict:
    """One database from a URL: SQLite tuned for a job queue, or PostgreSQL."""
    db = env.db_url_config(url)
    if db["ENGINE"] == "django.db.backends.sqlite3":
        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        db["OPTIONS"] = {
            # Every transaction takes the write lock at BEGIN, so a claim (read then update)
            # can never interleave with another worker's claim.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        db["TEST"] = {"NAME": str(Path(db["NAME"]).with_name("test_db.sqlite3"))}
    else:
        db["CONN_MAX_AGE"] = 0 if env("DATABASE_POOL") else env("CONN_MAX_AGE")
        db["CONN_HEALTH_CHECKS"] = True
        if env("DATABASE_POOL"):
            db.setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20}
    return db


DATABASES = {"default": _database(env("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Admin times to the second (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT")

LOGIN_URL = "admin:login"

# Behind HTTPS in production: secure cookies, HSTS, redirects (see `manage.py check --deploy`).
HTTPS = env("HTTPS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Django's Tasks framework: @task functions become jobs that runworker runs (jobs/backends.py).
TASKS = {"default": {"BACKEND": "jobs.backends.JobsBackend"}}

# The apps' settings: the queue (jobs/conf.py), credits (credits/conf.py), the AI steps
# (briefs/conf.py) and the HTTP API (api/conf.py). Each is read from the environment, parsed as
# the type of its default there.
# Secrets (OPENAI_API_KEY, WEBHOOK_SECRET, METRICS_TOKEN) have no default and are never logged.
APP_DEFAULTS: dict[str, Any] = {
    **JOBS_DEFAULTS,
    **CREDITS_DEFAULTS,
    **BRIEFS_DEFAULTS,
    **API_DEFAULTS,
}


def _from_env(name: str, default: Any) -> Any:
    cast = str if default is None else type(default)
    try:
        return env.get_value(name, cast=cast, default=copy.deepcopy(default))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid {cast.__name__}: {exc}") from None


globals().update({name: _from_env(name, default) for name, default in APP_DEFAULTS.items()})

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "jobs": {"handlers": ["console"], "level": env("LOG_LEVEL"), "propagate": False},
        "briefs": {"handlers": ["console"], "level": env("LOG_LEVEL"), "propagate": False},
        "api": {"handlers": ["console"], "level": env("LOG_LEVEL"), "propagate": False},
    },
}
