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
    "MAX_JOBS_PER_USER": (int, 10),
    "MEDIA_ROOT": (str, str(BASE_DIR / "var" / "media")),
    "HTTPS": (bool, False),
    "CREDITS_STARTING_BALANCE": (int, 100),
    # OpenAI or any OpenAI-compatible server. No key: the offline provider (labelled results).
    "OPENAI_API_KEY": (str, ""),
    "OPENAI_BASE_URL": (str, ""),
    "OPENAI_MODEL": (str, "gpt-5.4-mini"),
    "OPENAI_VISION_MODEL": (str, "gpt-5.4-mini"),
    "OPENAI_IMAGE_DETAIL": (str, "auto"),
    "OPENAI_TRANSCRIBE_MODEL": (str, "whisper-1"),
    "OPENAI_IMAGE_MODEL": (str, "gpt-image-2"),
    "OPENAI_TTS_MODEL": (str, "gpt-4o-mini-tts"),
    "OPENAI_TTS_VOICE": (str, "alloy"),
    "OPENAI_VIDEO_MODEL": (str, ""),
    "OPENAI_TIMEOUT": (float, 120.0),
    "OPENAI_MAX_RETRIES": (int, 4),
    "OPENAI_VIDEO_POLL_INTERVAL": (float, 5.0),
    "BRIEFS_MAX_FRAMES": (int, 120),
    "BRIEFS_FRAMES_PER_REQUEST": (int, 20),
    "BRIEFS_AUDIO_CHUNK_SECONDS": (int, 1200),
    "BRIEFS_ASSET_MAX_BYTES": (int, 500 * 1024 * 1024),
    "BRIEFS_ASSET_FETCH_TIMEOUT": (float, 30.0),
    "BRIEFS_ALLOW_PRIVATE_URLS": (bool, False),
    "FFMPEG_BINARY": (str, "ffmpeg"),
    "FFPROBE_BINARY": (str, "ffprobe"),
    # Downloads: after the access check, hand the file to the front server (none|nginx|apache).
    "MEDIA_ACCEL_REDIRECT": (str, "none"),
    "MEDIA_ACCEL_PREFIX": (str, "/protected-media/"),
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
    "briefs",
    "api",
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

# Django's Tasks framework: @task functions become jobs that runworker runs (jobs/backends.py).
TASKS = {"default": {"BACKEND": "jobs.backends.JobsBackend"}}

# The HTTP API (see api/conf.py and docs/api.md). Secrets have no default: unset, the cron
# endpoint is disabled and /metrics is for staff only.
WEBHOOK_SECRET = env.str("WEBHOOK_SECRET", default=None)
METRICS_TOKEN = env.str("METRICS_TOKEN", default=None)
MAX_JOBS_PER_USER = env("MAX_JOBS_PER_USER")

# Credits (see jobs/credits.py).
CREDITS_STARTING_BALANCE = env("CREDITS_STARTING_BALANCE")

# The AI steps (see briefs/conf.py). The key is a secret: it has no default and is never logged.
OPENAI_API_KEY = env("OPENAI_API_KEY")
OPENAI_BASE_URL = env("OPENAI_BASE_URL")
OPENAI_MODEL = env("OPENAI_MODEL")
OPENAI_VISION_MODEL = env("OPENAI_VISION_MODEL")
OPENAI_IMAGE_DETAIL = env("OPENAI_IMAGE_DETAIL")
OPENAI_TRANSCRIBE_MODEL = env("OPENAI_TRANSCRIBE_MODEL")
OPENAI_IMAGE_MODEL = env("OPENAI_IMAGE_MODEL")
OPENAI_TTS_MODEL = env("OPENAI_TTS_MODEL")
OPENAI_TTS_VOICE = env("OPENAI_TTS_VOICE")
OPENAI_VIDEO_MODEL = env("OPENAI_VIDEO_MODEL")
OPENAI_TIMEOUT = env("OPENAI_TIMEOUT")
OPENAI_MAX_RETRIES = env("OPENAI_MAX_RETRIES")
OPENAI_VIDEO_POLL_INTERVAL = env("OPENAI_VIDEO_POLL_INTERVAL")
BRIEFS_MAX_FRAMES = env("BRIEFS_MAX_FRAMES")
BRIEFS_FRAMES_PER_REQUEST = env("BRIEFS_FRAMES_PER_REQUEST")
BRIEFS_AUDIO_CHUNK_SECONDS = env("BRIEFS_AUDIO_CHUNK_SECONDS")
BRIEFS_ASSET_MAX_BYTES = env("BRIEFS_ASSET_MAX_BYTES")
BRIEFS_ASSET_FETCH_TIMEOUT = env("BRIEFS_ASSET_FETCH_TIMEOUT")
BRIEFS_ALLOW_PRIVATE_URLS = env("BRIEFS_ALLOW_PRIVATE_URLS")
FFMPEG_BINARY = env("FFMPEG_BINARY")
FFPROBE_BINARY = env("FFPROBE_BINARY")
MEDIA_ACCEL_REDIRECT = env("MEDIA_ACCEL_REDIRECT")
MEDIA_ACCEL_PREFIX = env("MEDIA_ACCEL_PREFIX")

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
