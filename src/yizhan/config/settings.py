"""Settings, all from the environment (12-factor).

DATABASE_URL      sqlite:///path (default: var/yizhan.sqlite3) or postgres://...
SECRET_KEY        required when DEBUG is off
DEBUG             "1" for development (default on unless YIZHAN_ENV=production)
ALLOWED_HOSTS     comma separated
YIZHAN_SMS_BACKEND  dotted path of the SMS backend (default console)
YIZHAN_QR_SECRET  key for signing station QR codes (defaults to SECRET_KEY)
YIZHAN_NOTIFY_*, YIZHAN_WECHAT_*, YIZHAN_WEBHOOK_*  outbound notifications (core/outbox.py)
"""

import os
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # src/yizhan
BASE_DIR = PACKAGE_DIR.parent.parent  # repo root
VAR_DIR = Path(os.environ.get("YIZHAN_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


PRODUCTION = os.environ.get("YIZHAN_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)
SECRET_KEY = os.environ.get("SECRET_KEY") or (
    "dev-insecure-yizhan-key-change-me" if not PRODUCTION else ""
)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when YIZHAN_ENV=production")
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "yizhan.core",
    "yizhan.jurisdictions",
    "yizhan.accounts",
    "yizhan.stations",
    "yizhan.reports",
    "yizhan.needs",
    "yizhan.safety",
    "yizhan.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "yizhan.core.security.ContentSecurityPolicyMiddleware",  # CSP with a per-request nonce
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # NUL bytes, lone surrogates, oversized or unreadable bodies: a 400/413, never a 500
    "yizhan.core.middleware.RequestGuardMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "yizhan.core.middleware.ClientIpMiddleware",
]

ROOT_URLCONF = "yizhan.config.urls"
WSGI_APPLICATION = "yizhan.config.wsgi.application"
ASGI_APPLICATION = "yizhan.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yizhan.core.context_processors.yizhan",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'yizhan.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("YIZHAN_DB_POOL", True):
    # One psycopg pool per process, shared by uvicorn's request threads: each request borrows
    # a connection and gives it back, so the server holds at most YIZHAN_DB_POOL_MAX
    # connections however many requests run at once (persistent per-thread connections
    # ran PostgreSQL out of clients). Pooling requires CONN_MAX_AGE=0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(os.environ.get("YIZHAN_DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("YIZHAN_DB_POOL_MAX", "10")),
        "timeout": float(os.environ.get("YIZHAN_DB_POOL_TIMEOUT", "30")),  # wait for a free connection
        "max_idle": 300,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web server write without blocking readers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["yizhan.accounts.backends.StaffPasswordBackend"]
# The user app's API-token lookup, ``callable(*, raw) -> user | None`` (core.api_auth: Bearer).
YIZHAN_API_TOKEN_USER = "yizhan.accounts.selectors.api_token_user"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # display zone; storage is UTC because USE_TZ
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static", PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("YIZHAN_MEDIA_ROOT", VAR_DIR / "media"))
# Hashed, gzip-compressed, long-cached static files in every mode, DEBUG included
# (yizhan.core.staticfiles); `yizhan up` runs collectstatic on start. Without a collected
# manifest (tests, a bare runserver) WhiteNoise serves the source folders (finders).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "yizhan.core.staticfiles.StaticStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# HSTS on HTTPS responses in production (behind a proxy: YIZHAN_TRUSTED_PROXIES lets
# X-Forwarded-Proto say the request was HTTPS).
SECURE_HSTS_SECONDS = int(os.environ.get("YIZHAN_HSTS_SECONDS", str(365 * 24 * 3600) if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("YIZHAN_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (core/security.py): self, plus the tile server; extra directives verbatim.
YIZHAN_CSP_EXTRA = os.environ.get("YIZHAN_CSP_EXTRA", "")
YIZHAN_CSP_REPORT_ONLY = env_bool("YIZHAN_CSP_REPORT_ONLY", False)
# Addresses (IPs or CIDRs, comma separated) of reverse proxies whose X-Forwarded-For/-Proto
# `yizhan web` believes; none by default, so the client address is the peer's.
YIZHAN_TRUSTED_PROXIES = [
    p.strip() for p in os.environ.get("YIZHAN_TRUSTED_PROXIES", "").split(",") if p.strip()
]

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "yizhan_cache",
    }
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("YIZHAN_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Yizhan settings
# A JSON/form body over this is a 413 (files in multipart do not count); more form fields: 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
YIZHAN_SMS_BACKEND = os.environ.get("YIZHAN_SMS_BACKEND", "yizhan.accounts.sms.ConsoleSmsBackend")
YIZHAN_QR_SECRET = os.environ.get("YIZHAN_QR_SECRET", SECRET_KEY)
YIZHAN_OTP_TTL_SECONDS = 300
YIZHAN_OTP_MAX_TRIES = 5
YIZHAN_OTP_PER_PHONE_PER_HOUR = int(os.environ.get("YIZHAN_OTP_PER_PHONE_PER_HOUR", "5"))
YIZHAN_OTP_PER_IP_PER_HOUR = int(os.environ.get("YIZHAN_OTP_PER_IP_PER_HOUR", "20"))
YIZHAN_LOGIN_MAX_FAILURES = 5
YIZHAN_LOGIN_LOCKOUT_SECONDS = 15 * 60
YIZHAN_CHECKIN_DEDUP_MINUTES = 30
# Photos over this many pixels are refused from their header, before decoding (core/images.py).
YIZHAN_PHOTO_MAX_PIXELS = int(os.environ.get("YIZHAN_PHOTO_MAX_PIXELS", "40000000"))
# A task left RUNNING by a dead worker is queued again after this lease (core/task_lease.py).
YIZHAN_TASK_LEASE_SECONDS = float(os.environ.get("YIZHAN_TASK_LEASE_SECONDS", "120"))
YIZHAN_TASK_MAX_ATTEMPTS = int(os.environ.get("YIZHAN_TASK_MAX_ATTEMPTS", "3"))
YIZHAN_DEFAULT_CENTER = (31.3390, 120.4240)  # Suzhou Science City (lat, lng)
# Map tiles (yizhan.core.maps): OpenStreetMap's own tiles by default (fine for a laptop and
# a demo; a real deployment points at its own or a licensed tile server). YIZHAN_TILE_URL=""
# switches tiles off. A Chinese base map (AutoNavi/Amap, Tencent) is GCJ-02: set
# YIZHAN_TILE_GCJ02=1 (guessed from the URL otherwise). Without tiles, or when they fail to
# load, maps draw the jurisdiction boundaries with their names and a scale bar instead.
YIZHAN_TILE_URL = os.environ.get("YIZHAN_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
YIZHAN_TILE_ATTRIBUTION = os.environ.get(
    "YIZHAN_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    if YIZHAN_TILE_URL.startswith("https://tile.openstreetmap.org/") else "",
)
YIZHAN_TILE_SUBDOMAINS = os.environ.get("YIZHAN_TILE_SUBDOMAINS", "abc")
YIZHAN_TILE_MAX_ZOOM = int(os.environ.get("YIZHAN_TILE_MAX_ZOOM", "19"))
YIZHAN_TILE_GCJ02 = env_bool("YIZHAN_TILE_GCJ02", False) if os.environ.get("YIZHAN_TILE_GCJ02") else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
YIZHAN_NEARBY_REFRESH_SECONDS = float(os.environ.get("YIZHAN_NEARBY_REFRESH_SECONDS", "2"))

# Outbound notifications (core/outbox.py): which channels get a copy of each inbox message.
# sms, wechat, webhook, console, file — development prints them (console) unless told otherwise.
YIZHAN_NOTIFY_CHANNELS = [
    c.strip() for c in os.environ.get(
        "YIZHAN_NOTIFY_CHANNELS", "sms,wechat,webhook" if PRODUCTION else "console").split(",") if c.strip()
]
YIZHAN_NOTIFY_SMS_KINDS = [k.strip() for k in os.environ.get(
    "YIZHAN_NOTIFY_SMS_KINDS", "case_dispatched,case_overdue,case_escalated,case_handled").split(",") if k.strip()]
# SMS kinds a user cannot switch off on /inbox/settings/ (the others they can).
YIZHAN_NOTIFY_URGENT_KINDS = [k.strip() for k in os.environ.get(
    "YIZHAN_NOTIFY_URGENT_KINDS", "case_dispatched,case_overdue,case_escalated").split(",") if k.strip()]
YIZHAN_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("YIZHAN_NOTIFY_MAX_ATTEMPTS", "6"))
YIZHAN_NOTIFY_BACKOFF_SECONDS = float(os.environ.get("YIZHAN_NOTIFY_BACKOFF_SECONDS", "30"))
YIZHAN_NOTIFY_BACKOFF_MAX_SECONDS = float(os.environ.get("YIZHAN_NOTIFY_BACKOFF_MAX_SECONDS", "3600"))
YIZHAN_NOTIFY_LEASE_SECONDS = 300
# After each commit that queued messages, enqueue the delivery task (off: only the scheduler's sweep sends).
YIZHAN_NOTIFY_ENQUEUE = env_bool("YIZHAN_NOTIFY_ENQUEUE", True)
YIZHAN_NOTIFY_SMS_BACKEND = os.environ.get("YIZHAN_NOTIFY_SMS_BACKEND", "")  # "" = YIZHAN_SMS_BACKEND
YIZHAN_NOTIFY_FILE = os.environ.get("YIZHAN_NOTIFY_FILE", str(VAR_DIR / "notifications.log"))
YIZHAN_PUBLIC_URL = os.environ.get("YIZHAN_PUBLIC_URL", "")  # makes links in SMS/WeChat/webhooks absolute
YIZHAN_WECHAT_BACKEND = os.environ.get("YIZHAN_WECHAT_BACKEND", "yizhan.core.outbox.ConsoleWechatBackend")
YIZHAN_WECHAT_APPID = os.environ.get("YIZHAN_WECHAT_APPID", "")
YIZHAN_WECHAT_APPSECRET = os.environ.get("YIZHAN_WECHAT_APPSECRET", "")
YIZHAN_WECHAT_TEMPLATES = os.environ.get("YIZHAN_WECHAT_TEMPLATES", "{}")  # JSON {kind: template_id, "*": id}
YIZHAN_WECHAT_API_BASE = os.environ.get("YIZHAN_WECHAT_API_BASE", "https://api.weixin.qq.com")
YIZHAN_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("YIZHAN_WEBHOOK_TIMEOUT_SECONDS", "5"))
YIZHAN_WEBHOOK_ALLOW_HTTP = env_bool("YIZHAN_WEBHOOK_ALLOW_HTTP", not PRODUCTION)  # else https only
