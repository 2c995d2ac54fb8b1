"""Settings for the jobs app.

Every value that differs between machines comes from the environment, read once here through
django-environ. Development defaults live in ``DEV_DEFAULTS``; production sets its own values.
"""

from __future__ import annotations

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

DEV_DEFAULTS = {
    "DEBUG": (bool, False),
    "SECRET_KEY": (str, "dev-only-insecure-secret-key-change-me"),
    "ALLOWED_HOSTS": (list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
    "DATABASE_URL": (str, f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
    "CONN_MAX_AGE": (int, 60),
    "DATABASE_POOL": (bool, False),
    "LOG_LEVEL": (str, "INFO"),
    "JOBS_LEASE_SECONDS": (float, 30.0),
    "JOBS_DEFAULT_TIMEOUT": (float, 300.0),
    "JOBS_DEFAULT_MAX_ATTEMPTS": (int, 3),
    "JOBS_RETRY_BACKOFF_BASE": (float, 5.0),
    "JOBS_RETRY_BACKOFF_MAX": (float, 3600.0),
    "JOBS_GRACE_PERIOD": (float, 30.0),
    "JOBS_HANDLER_MODULES": (list, []),
    "JOBS_PREPARED_STATEMENTS": (bool, True),
    "JOB_RETENTION_DAYS": (int, 7),
    "MEDIA_ROOT": (str, str(BASE_DIR / "var" / "media")),
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
    "jobs",
    "briefs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT")

LOGIN_URL = "admin:login"

# The job queue (see jobs/conf.py for what each one means).
JOBS_LEASE_SECONDS = env("JOBS_LEASE_SECONDS")
JOBS_DEFAULT_TIMEOUT = env("JOBS_DEFAULT_TIMEOUT")
JOBS_DEFAULT_MAX_ATTEMPTS = env("JOBS_DEFAULT_MAX_ATTEMPTS")
JOBS_RETRY_BACKOFF_BASE = env("JOBS_RETRY_BACKOFF_BASE")
JOBS_RETRY_BACKOFF_MAX = env("JOBS_RETRY_BACKOFF_MAX")
JOBS_GRACE_PERIOD = env("JOBS_GRACE_PERIOD")
JOBS_HANDLER_MODULES = env("JOBS_HANDLER_MODULES")
JOBS_PREPARED_STATEMENTS = env("JOBS_PREPARED_STATEMENTS")
JOB_RETENTION_DAYS = env("JOB_RETENTION_DAYS")

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
    },
}
