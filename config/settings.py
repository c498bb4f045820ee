"""Settings for Placement Ledger, read from the environment (and an optional .env file).

DATABASE_URL selects PostgreSQL (the real database); without it the app runs on SQLite so that a
newcomer can start it with one command. Secrets and the ID-number keys never live in the code.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (written by `make .env` with freshly generated keys) is read if present; real
# deployments set the variables themselves.
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY and DEBUG:
    # Only a debug run may go without a configured secret; it gets a throwaway one per process.
    from django.core.management.utils import get_random_secret_key

    SECRET_KEY = get_random_secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # The admin with the ledger's site: query-string lookups and history pages locked down.
    "config.admin_site.LedgerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "import_export",
    "simple_history",  # audit history: who changed a record, when, from where
    "config.apps.AxesConfig",  # django-axes: login lockout against password guessing
    "csp",  # Content-Security-Policy (Django 5.2 has none built in)
    "django_tasks",
    "django_tasks_db",  # the job queue's table (README, "Background jobs")
    "enterprises",
    "placement",
    "reports",
    "jobs",
]

# Background jobs (imports, large exports) on django-tasks' database backend: the queue is a
# table of the ledger's own database, so `make run` needs no other server and any number of
# `manage.py db_worker` processes, on any machine reaching the database, share it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A job whose worker has given no sign of life for this long (killed, or its machine gone) is put
# back on the queue by the next look at it (its page, or `cleanup_imports`); a write holds a lock
# on its job for its whole transaction, so on PostgreSQL a write is retried only once that lock
# is gone, whatever this says.
LEDGER_JOB_STALE_SECONDS = env.int("LEDGER_JOB_STALE_SECONDS", default=300)
# How many times a job is run before it is given up (a transient database error, a killed worker).
LEDGER_JOB_MAX_ATTEMPTS = env.int("LEDGER_JOB_MAX_ATTEMPTS", default=3)
# An export of more rows than this runs as a job (progress bar, file offered when ready).
LEDGER_EXPORT_JOB_ROWS = env.int("LEDGER_EXPORT_JOB_ROWS", default=10_000)
# Hours an exported file is kept (encrypted) for its owner to download.
LEDGER_EXPORT_KEEP_HOURS = env.int("LEDGER_EXPORT_KEEP_HOURS", default=24)

MIDDLEWARE = [
    # First, so that its duration covers every other middleware.
    "config.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The app serves its own static files (a government intranet: no CDN).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless exempted (workers are real people); history knows who and
    # where.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # axes must be last, so that it sees the outcome of every login attempt.
    "axes.middleware.AxesMiddleware",
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
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# After a PostgreSQL restart a kept connection would fail the next request without this.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s web server and job worker share the file: a transaction takes the write lock
    # when it begins (a read turned write midway failed at once with "database is locked"),
    # and a writer waits up to 20 s for the other instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Dashboard figures are cached until the ledger changes (reports/cache.py). The database cache
# (its table is made by a migration) is shared by every worker process and app server and needs
# no server of its own; `redis://…` works too (with the redis package). Never a per-process
# cache (locmem) with more than one process: the others would not see a change.
CACHES = {"default": env.cache_url("DJANGO_CACHE_URL", default="dbcache://ledger_cache")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
    # Django's default is 300 entries, a third culled when full: every scope, year, date,
    # industry, role and language of a dashboard is an entry, and one user's dates alone
    # could fill it.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)
# Admin lists of a table with at least this many rows (by its statistics) show an estimated count
# when unfiltered, instead of counting every row on every page (database/paginator.py).
LEDGER_ADMIN_ESTIMATE_ROWS = env.int("LEDGER_ADMIN_ESTIMATE_ROWS", default=100_000)
# How long a cached report is kept at most: the bound for writes that send no signal.
LEDGER_REPORT_CACHE_SECONDS = env.int("LEDGER_REPORT_CACHE_SECONDS", default=3600)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date inputs read 2017-12-31 in Chinese and English alike (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without `collectstatic` (development, tests) WhiteNoise finds files through the finders.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "admin:login"

# ID numbers are stored encrypted (Fernet; several comma-separated keys allow rotation, the first
# encrypts) with a keyed hash for exact lookup and uniqueness. Both keys come from the environment;
# the app refuses to start without them (see placement.checks).
LEDGER_ID_ENCRYPTION_KEYS = env.list("LEDGER_ID_ENCRYPTION_KEYS", default=[])
LEDGER_ID_HMAC_KEY = env.str("LEDGER_ID_HMAC_KEY", default="")

# Searches by full ID number and reveals of full numbers one user may make in a minute: enough for
# a day's work on a list of names, too few to test a county's numbers one by one.
LEDGER_LOOKUPS_PER_MINUTE = env.int("LEDGER_LOOKUPS_PER_MINUTE", default=30)
# Internal retirement (内部退养) is allowed within this many years of the statutory retirement date
# (人社部发〔2016〕32号 says 5; some provinces allowed 10).
LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS = env.int(
    "LEDGER_INTERNAL_RETIREMENT_WINDOW_YEARS", default=5
)
# A bulk write of at least this many rows (an import, the demo, the report facts' refresh) is
# followed by ANALYZE of the tables it wrote (database/analyze.py).
LEDGER_ANALYZE_AFTER_ROWS = env.int("LEDGER_ANALYZE_AFTER_ROWS", default=5000)
# … and only of the tables where those rows are more than this share of the rows their statistics
# know: PostgreSQL's own autovacuum_analyze_scale_factor (0.1), what autovacuum waits for.
LEDGER_ANALYZE_SHARE = env.float("LEDGER_ANALYZE_SHARE", default=0.1)
# Monthly returns (月报): the form number (表号) and issuing office (制表机关) printed on every
# return, and the day of the following month by which a month's return is due.
LEDGER_RETURN_FORM_NUMBER = env.str("LEDGER_RETURN_FORM_NUMBER", default="晋人社安置月01表")
LEDGER_RETURN_ISSUING_OFFICE = env.str(
    "LEDGER_RETURN_ISSUING_OFFICE", default="山西省人力资源和社会保障厅"
)
LEDGER_RETURN_DUE_DAY = env.int("LEDGER_RETURN_DUE_DAY", default=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every handler masks ID numbers and phones (a log line never carries one in full).
    "filters": {"personal_data": {"()": "placement.error_reports.PersonalDataLogFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["personal_data"]},
        "requests": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["personal_data"],
        },
    },
    # One JSON line per request (config/middleware.py); DJANGO_REQUEST_LOG=WARNING silences it.
    "loggers": {
        "ledger.requests": {
            "handlers": ["requests"],
            "level": env.str("DJANGO_REQUEST_LOG", default="INFO"),
            "propagate": False,
        },
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="WARNING")},
}

# --- Security: personal data of real people, on an intranet ---
# Roles, lockout, sessions, transport security and CSP. See README "Who sees what".
from datetime import timedelta  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

# django-axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LEDGER_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LEDGER_LOGIN_COOLOFF_MINUTES", default=30))
# Two locks, each on the client's real address (below):
# - the pair (username, address) after AXES_FAILURE_LIMIT failures: someone guessing one user's
#   password is stopped, and a stranger's failures from elsewhere never lock that user out (a
#   lock on the username alone would let anyone lock out any user, administrators included);
# - the address alone after LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT failures over all usernames: one
#   password sprayed over many usernames is stopped.
# The second lock is config.lockout's, not axes' own "ip_address" criterion: axes applies one limit
# to every criterion (an office behind one NAT address would be locked after five typos in all),
# and a successful login resets every criterion it matches (a sprayer holding one valid account
# would reset the address's count by logging in). Here a success resets only its own pair.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LEDGER_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_HANDLER = "config.lockout.LoginLockoutHandler"
# A page in the user's language instead of axes' one English sentence.
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# The client's address, for the lockout, axes' logs and the ledger's access log alike (all read it
# through axes.helpers.get_client_ip_address, i.e. django-ipware). DJANGO_PROXY_COUNT is how many
# reverse proxies stand in front of the app, each appending the address it received the request
# from to X-Forwarded-For. 0 (the default) means clients connect directly: X-Forwarded-For is
# ignored, so that a client cannot choose its own address.
LEDGER_PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
AXES_IPWARE_PROXY_ORDER = "left-most"
if LEDGER_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR"]
    # ipware counts the proxies listed in X-Forwarded-For; the nearest proxy is the connection
    # itself (REMOTE_ADDR) and lists only the hops before it, so N proxies list N - 1.
    AXES_IPWARE_PROXY_COUNT = LEDGER_PROXY_COUNT - 1
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
    AXES_IPWARE_PROXY_COUNT = None
# django-ipware's strict mode (its default; axes passes no choice) wants exactly that many entries,
# so a client that sends its own X-Forwarded-For would get no address at all (one lockout shared by
# every such client). Not strict, entries a client added on the left are skipped and the address
# the outermost proxy saw is taken.
IPWARE_STRICT = False

# Sessions end after 30 idle minutes (等保 level 3): the expiry moves on with every request.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# Transport security is on whenever DEBUG is off; a test or a plain-HTTP setup behind a TLS proxy
# may turn the redirect off explicitly.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline scripts or styles anywhere: Django 5.2's admin needs neither.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# History is written by services and imports; reverting from the history page would bypass them.
SIMPLE_HISTORY_REVERT_DISABLED = True
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = False

# Error reports (the debug page, mails to ADMINS) mask ID numbers and phones.
DEFAULT_EXCEPTION_REPORTER_FILTER = "placement.error_reports.LedgerExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "placement.error_reports.LedgerExceptionReporter"

# --- Spreadsheet import ------------------------------------------------------------------------
# Without these two, a staff user with no permission at all could download a full export
# (PITFALLS.md): importing needs the model's "add" permission, exporting its "view" permission.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
# Off on purpose: it handles a leading "=" only, by deleting it, and turns every cell into text.
# Every export escapes through spreadsheets.formulas.escape_formula instead.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False
# An upload larger than this, or with more data rows, is refused before it is read.
LEDGER_IMPORT_MAX_BYTES = env.int("LEDGER_IMPORT_MAX_BYTES", default=30 * 1024 * 1024)
LEDGER_IMPORT_MAX_ROWS = env.int("LEDGER_IMPORT_MAX_ROWS", default=200_000)
# A roster whose numbers are registered at more enterprises outside the user's scope than this is
# refused without saying which rows: listing them would tell which of up to 200,000 numbers are
# registered anywhere in the country. A real roster has a few such rows (a worker moved between
# mines); a file with many is someone else's roster or a probe.
LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES = env.int("LEDGER_IMPORT_MAX_OUTSIDE_DUPLICATES", default=20)
# The sum of an .xlsx's or .ods's declared uncompressed sizes is checked before calamine opens it
# (a 0.2 MB zip bomb declaring 200 MB took 600 MB of memory).
LEDGER_XLSX_MAX_UNCOMPRESSED_BYTES = env.int(
    "LEDGER_XLSX_MAX_UNCOMPRESSED_BYTES", default=400 * 1024 * 1024
)
# An upload waits for its confirmation in the database (jobs.ImportJob), encrypted with the
# ID-number keys. It expires after this many minutes (removed by `manage.py cleanup_imports` and
# by the next upload, refused even before).
LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES = env.int("LEDGER_IMPORT_UPLOAD_EXPIRY_MINUTES", default=120)
# The admin upload goes through Django's own limit too (a file larger than this is written to a
# temporary file rather than kept in memory; the import limit above is what refuses it).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
