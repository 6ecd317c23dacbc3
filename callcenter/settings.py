"""Django settings for the call center, read from the environment through django-environ.

Every variable is documented in `.env.example`. With nothing set, the project runs on the
embedded defaults (SQLite, Celery tasks in-process, in-memory channel layer) so that a first run
needs nothing installed. `DJANGO_ENV=production` turns on the production profile, in which the
secrets have no default and a missing one stops start-up.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` (never committed) is read when present; real environment variables win.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise environ.ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}"
    )
PRODUCTION = DJANGO_ENV == "production"

# --- Core -----------------------------------------------------------------------------------

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # no default: a missing secret stops start-up
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="development-only-insecure-key-never-use-in-production"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # Not a warning under --deploy only: Daphne runs no system checks, and DEBUG pages show
    # settings, SQL and tracebacks with callers' data to anyone.
    raise environ.ImproperlyConfigured(
        "DEBUG is on in production: remove DEBUG from the environment (or set DEBUG=false)."
    )
if PRODUCTION and "*" in ALLOWED_HOSTS:
    # "*" also switches off the live monitor websocket's Origin check.
    raise environ.ImproperlyConfigured(
        "ALLOWED_HOSTS contains '*' in production: name the host names the admin is served under."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "callcenter.apps.CallCenterConfig",
    "catalog",
    "orders",
    "calls",
]

MIDDLEWARE = [
    # First: X-Forwarded-Proto is believed (SECURE_PROXY_SSL_HEADER) only from TRUSTED_PROXIES.
    "callcenter.client_address.TrustedProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a refused (locked-out) login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "callcenter.urls"

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

WSGI_APPLICATION = "callcenter.wsgi.application"
ASGI_APPLICATION = "callcenter.asgi.application"

# --- Database -------------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: several threads of one process write call records, so wait for
    # the lock instead of failing, and let readers work while a writer holds it.
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that a server started by the tests as a subprocess shares it.
    _db.setdefault("TEST", {}).setdefault(
        "NAME", env.str("SQLITE_TEST_NAME", default=str(BASE_DIR / "test-db.sqlite3"))
    )
else:
    # Django's advice under ASGI: no persistent connections (each request runs in its own
    # thread, which would leave one behind); long-lived processes may raise it.
    _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
    _db["CONN_HEALTH_CHECKS"] = True
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Long-lived processes name themselves so a DBA can tell them apart in pg_stat_activity.
        _db.setdefault("OPTIONS", {}).setdefault(
            "application_name", env.str("DB_APPLICATION_NAME", default="callcenter")
        )
        # A database host that vanished must fail a connection attempt in seconds, not hang
        # the thread that writes every call's records.
        _db["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, Celery broker, channel layer ---------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A socket's messages are awaited with a 5 s BZPOPMIN: redis-py's default 5 s read
                # time-out would cut every quiet wait short and fail the consumer (the live
                # monitor's socket closed after five quiet seconds). A longer one still ends a
                # read from a Redis that hangs.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                # Every key and group name of the layer starts with it: processes that share
                # one Redis database but not their calls (e.g. parallel test workers) each
                # give their own, so one's live-call events never reach the other's sockets.
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# With no broker the tasks run in-process, right where they are queued (after commit).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep the project's log handlers in the worker: Celery's own would drop the filter that masks
# phone numbers and names.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that accepts the connection and never answers must not hang whoever talks to it:
# every connect, read and write on Redis gives up after BROKER_SOCKET_TIMEOUT seconds, so
# queuing a task fails within a few times that and the sweeps queue it again later. Calls never
# wait even that long: they queue through callcenter.publisher's thread.
BROKER_SOCKET_TIMEOUT = env.float("BROKER_SOCKET_TIMEOUT", default=5.0)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
}
# Queuing a task while the broker is away gives up after two quick retries instead of waiting
# for it (what could not be queued is left to the periodic sweeps).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

# --- Notifications (sent by Celery after an order is placed) ---------------------------------

# Outgoing mail: smtp://user:password@host:587 (+tls), or consolemail:// (the default: printed).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="callcenter@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Staff told of each new order: by email, by SMS, and by a signed webhook (empty: not used).
NOTIFY_STAFF_EMAILS = env.list("NOTIFY_STAFF_EMAILS", default=[])
NOTIFY_STAFF_PHONES = env.list("NOTIFY_STAFF_PHONES", default=[])
NOTIFY_WEBHOOK_URL = env.str("NOTIFY_WEBHOOK_URL", default="")
NOTIFY_WEBHOOK_SECRET = env.str("NOTIFY_WEBHOOK_SECRET", default="")
# The customer gets an SMS confirming the order, in the call's language.
NOTIFY_CUSTOMER_SMS = env.bool("NOTIFY_CUSTOMER_SMS", default=True)
# The SMS gateway: the import path of an orders.sms.SMSBackend subclass (default: the console
# backend, which logs each message).
SMS_BACKEND = env.str("SMS_BACKEND", default="orders.sms.ConsoleSMSBackend")
# orders.sms.HTTPSMSBackend posts {"to", "text"} as JSON here with the token as a bearer.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
# Links to the admin in staff notifications, e.g. https://callcenter.example.com (empty: none).
ADMIN_BASE_URL = env.str("ADMIN_BASE_URL", default="")
# Notifications still pending this many seconds after the order (their task never reached the
# broker, or it failed) are queued again by the sweep that runs every NOTIFY_SWEEP_INTERVAL s.
NOTIFY_SWEEP_INTERVAL = env.float("NOTIFY_SWEEP_INTERVAL", default=60.0)
NOTIFY_SWEEP_MIN_AGE = env.float("NOTIFY_SWEEP_MIN_AGE", default=120.0)
# Seconds a webhook or SMS gateway may take to answer.
NOTIFY_TIMEOUT = env.float("NOTIFY_TIMEOUT", default=10.0)

# Calls ended this many seconds ago and still not wrapped up (the task never reached the
# broker) are wrapped up by the sweep that runs every WRAP_UP_SWEEP_INTERVAL s.
WRAP_UP_SWEEP_INTERVAL = env.float("WRAP_UP_SWEEP_INTERVAL", default=300.0)
WRAP_UP_SWEEP_MIN_AGE = env.float("WRAP_UP_SWEEP_MIN_AGE", default=120.0)

# --- Retention ------------------------------------------------------------------------------

# Transcripts (the turns of a call) older than this many days are deleted nightly; the call's
# row, its outcome and its orders are kept. 0 keeps transcripts forever.
TRANSCRIPT_RETENTION_DAYS = env.int("TRANSCRIPT_RETENTION_DAYS", default=365)

# The periodic tasks (run `celery -A callcenter beat` once per deployment, or `worker -B`).
CELERY_BEAT_SCHEDULE = {
    # An order's notifications whose task never reached the broker (Redis was away) are sent.
    "send-pending-notifications": {
        "task": "orders.tasks.send_pending_notifications",
        "schedule": NOTIFY_SWEEP_INTERVAL,
    },
    # Calls whose wrap-up task was lost the same way are wrapped up.
    "wrap-up-pending-calls": {
        "task": "calls.tasks.wrap_up_pending_calls",
        "schedule": WRAP_UP_SWEEP_INTERVAL,
    },
    "purge-old-transcripts": {
        "task": "calls.tasks.purge_old_transcripts",
        "schedule": crontab(hour=3, minute=30),
    },
    "render-prompts": {"task": "calls.tasks.render_prompts", "schedule": crontab(hour=4, minute=0)},
    # Calls left in progress by a server process that died are ended (see CALL_STALE_AFTER).
    "end-orphaned-calls": {"task": "calls.tasks.end_orphaned_calls", "schedule": 60.0},
}

# --- Auth, i18n, static ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes counts failed logins first; a locked-out username+address is refused before
# the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is
# locked out for LOGIN_LOCKOUT_MINUTES (each attempt during the lock-out starts it again).
# Per pair, not per username alone, so a stranger cannot lock a manager out of the admin.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# The client's address as every other allow-list sees it: X-Forwarded-For only from
# TRUSTED_PROXIES, so an attacker cannot dodge the lock-out by writing a new address each time.
AXES_CLIENT_IP_CALLABLE = "callcenter.client_address.client_ip"
# Not an INFO line from axes at every process start (manage.py commands, workers, Daphne).
AXES_VERBOSE = False
# Staff sessions end after SESSION_COOKIE_AGE seconds (default 8 hours: one shift), logged in
# or not; a stolen cookie is worth less the sooner it expires.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en-us")
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Kyiv")
CELERY_TIMEZONE = TIME_ZONE
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# In development WhiteNoise serves the apps' static files straight from their folders; a
# production image collects them into STATIC_ROOT when it is built.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles") if PRODUCTION else None
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- The shop and the bot -------------------------------------------------------------------

SHOP_NAME = env.str("SHOP_NAME", default="Tire Shop")
# The opening hours as the bot says them after "The shop is open ...", per language; empty: the
# bot says the manager will tell (it never makes hours up).
SHOP_HOURS = {
    language: env.str(f"SHOP_HOURS_{language.upper()}", default="")
    for language in ("en", "uk", "ru")
}
# The delivery terms as the bot says them when asked ("Delivery in Kyiv is 200 hryvnias, free
# from four tires"), per language; empty: the manager will name the cost (never one made up).
SHOP_DELIVERY = {
    language: env.str(f"SHOP_DELIVERY_{language.upper()}", default="")
    for language in ("en", "uk", "ru")
}
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="UAH")
# The language the bot speaks and understands: uk, ru or en.
CALL_LANGUAGE = env.str("CALL_LANGUAGE", default="en")
# The languages callers may speak, comma-separated (uk,ru): each call is greeted in the first,
# then follows the caller among them (calls/language.py). Unset: CALL_LANGUAGE alone.
CALL_LANGUAGES = [code.strip() for code in env.list("CALL_LANGUAGES", default=[]) if code.strip()]
CALL_LANGUAGES = list(dict.fromkeys(CALL_LANGUAGES)) or [CALL_LANGUAGE]
CALL_LANGUAGE = CALL_LANGUAGES[0]
# Region used to read national phone numbers ("067 123 45 67") as E.164.
PHONE_DEFAULT_COUNTRY_CODE = env.str("PHONE_DEFAULT_COUNTRY_CODE", default="380")

# --- Security (production profile) ----------------------------------------------------------

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Health and metrics are probed over plain HTTP from inside the private network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Logging --------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Callers' phone numbers, names and addresses are personal data: never logged in full.
        "mask_phone_numbers": {"()": "callcenter.log_filters.MaskPersonalData"},
        # Celery logs what each task returns; only numbers and truth values are shown.
        "hide_task_results": {"()": "callcenter.log_filters.HideTaskResults"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["hide_task_results", "mask_phone_numbers"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # faster-whisper logs every transcription at INFO.
        "faster_whisper": {"level": "WARNING"},
        # httpx logs every request to a speech API at INFO.
        "httpx": {"level": "WARNING"},
    },
}

# --- Voice engines --------------------------------------------------------------------------

# A short name (espeak-ng, openai, google) or the import path of a TTSEngine subclass.
TTS_ENGINE = env.str("TTS_ENGINE", default="espeak-ng")
# A short name (faster-whisper, openai, google) or the import path of an STTEngine subclass.
STT_ENGINE = env.str("STT_ENGINE", default="faster-whisper")
# faster-whisper's model: tiny.en or base (both ship in pip packages) or a CTranslate2 model
# directory; empty: tiny.en for English calls, the multilingual base for Ukrainian and Russian.
STT_MODEL = env.str("STT_MODEL", default="")
# CPU threads one transcription uses, and transcriptions run at once per process.
STT_THREADS = env.int("STT_THREADS", default=1)
STT_WORKERS = env.int("STT_WORKERS", default=2)
# Seconds of silence after an utterance that faster-whisper's encoder sees instead of a 30 s
# window (a short reply's CPU 4-10 times less); "off": always the 30 s window; empty: 2 for the
# English-only models (tiny.en hears English human voices better in it), the 30 s window for
# the multilingual ones (base heard Russian human voices worse in it). docs/engines.md.
STT_WINDOW_MARGIN = env.str("STT_WINDOW_MARGIN", default="")
# Cloud and self-hosted engines. Seconds a speech API may take to answer one request.
SPEECH_API_TIMEOUT = env.float("SPEECH_API_TIMEOUT", default=5.0)
# Connections (and executor threads) per speech API per process: requests in flight at once.
# 0: one per call the process takes (AUDIOSOCKET_MAX_CALLS), so no caller waits for another's
# request. A request that finds every connection busy waits SPEECH_API_POOL_TIMEOUT seconds at
# most, then fails as an engine error (the caller hears an apology). docs/testing.md, "Remote".
SPEECH_API_POOL = env.int("SPEECH_API_POOL", default=0)
SPEECH_API_POOL_TIMEOUT = env.float("SPEECH_API_POOL_TIMEOUT", default=1.0)
# The OpenAI audio API or a server that speaks it (speaches, LocalAI, Kokoro-FastAPI...).
OPENAI_API_URL = env.str("OPENAI_API_URL", default="https://api.openai.com/v1")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
STT_API_URL = env.str("STT_API_URL", default="") or OPENAI_API_URL
STT_API_KEY = env.str("STT_API_KEY", default="") or OPENAI_API_KEY
STT_API_MODEL = env.str("STT_API_MODEL", default="whisper-1")
TTS_API_URL = env.str("TTS_API_URL", default="") or OPENAI_API_URL
TTS_API_KEY = env.str("TTS_API_KEY", default="") or OPENAI_API_KEY
TTS_API_MODEL = env.str("TTS_API_MODEL", default="tts-1")
# pcm (raw 24 kHz, OpenAI's fastest) or wav (for servers that lack pcm).
TTS_API_FORMAT = env.str("TTS_API_FORMAT", default="pcm")
# The TTS voice: an OpenAI voice (alloy) or a Google voice name (uk-UA-Wavenet-A); empty: the
# engine's default for the language.
TTS_VOICE = env.str("TTS_VOICE", default="")
# A voice per call language (uk=uk-UA-Wavenet-A,ru=ru-RU-Wavenet-D); TTS_VOICE for the rest.
TTS_VOICES = env.dict("TTS_VOICES", default={})
# Google Cloud Speech-to-Text and Text-to-Speech with an API key.
GOOGLE_API_KEY = env.str("GOOGLE_API_KEY", default="")
GOOGLE_STT_URL = env.str("GOOGLE_STT_URL", default="https://speech.googleapis.com/v1")
GOOGLE_TTS_URL = env.str("GOOGLE_TTS_URL", default="https://texttospeech.googleapis.com/v1")
# A recognition model such as phone_call or latest_short; empty: Google's default.
GOOGLE_STT_MODEL = env.str("GOOGLE_STT_MODEL", default="")
# Fixed prompts rendered ahead of time (manage.py render_prompts, the Celery task), shared by
# every process on the host.
TTS_CACHE_DIR = Path(env.str("TTS_CACHE_DIR", default="") or BASE_DIR / "var" / "tts-cache")
# Endpointing: silence that ends the caller's utterance, and the longest utterance, in ms.
VAD_END_SILENCE_MS = env.int("VAD_END_SILENCE_MS", default=600)
VAD_MAX_UTTERANCE_MS = env.int("VAD_MAX_UTTERANCE_MS", default=15000)
# Early transcription: after this much silence (ms) the utterance so far is transcribed while the
# endpoint still waits (VAD_END_SILENCE_MS); used if the caller says no more, dropped if they go
# on. At most one per call, and only when a speech-to-text worker is idle. 0: off.
STT_EARLY_SILENCE_MS = env.int("STT_EARLY_SILENCE_MS", default=250)
# Admission control (calls/admission.py). The reply budget from the end of the caller's speech
# (the NFR, ms): when the speech-to-text queue would push a reply past it, the caller hears a
# short "one moment" (STT_FILLER); when the queue's wait alone exceeds it, new calls are put
# through to the operators (STT_OVERLOAD_ROUTE=operator), hear the busy message (busy), or are
# taken all the same (none).
TURN_BUDGET_MS = env.int("TURN_BUDGET_MS", default=2000)
STT_FILLER = env.bool("STT_FILLER", default=True)
STT_OVERLOAD_ROUTE = env.str("STT_OVERLOAD_ROUTE", default="operator")
# A caller on the line who says nothing: after this many seconds of silence following the bot's
# turn it asks whether they are still there; after the same again it says goodbye and hangs up.
NO_INPUT_TIMEOUT = env.float("NO_INPUT_TIMEOUT", default=8.0)
# The LLM agent (AGENT=llm): OpenAI-compatible chat completions with tool calling (OpenAI,
# Ollama, vLLM, llama.cpp's server...).
LLM_API_URL = env.str("LLM_API_URL", default="") or OPENAI_API_URL
LLM_API_KEY = env.str("LLM_API_KEY", default="") or OPENAI_API_KEY
LLM_MODEL = env.str("LLM_MODEL", default="gpt-4o-mini")
# Seconds one completion may take; one quick retry on 429/5xx, then an operator takes over.
LLM_TIMEOUT = env.float("LLM_TIMEOUT", default=8.0)
# Seconds a caller waits at most for a transcription and for the agent's reply (all its tool
# calls and completions together); past them the bot apologises and an operator takes over.
STT_TIMEOUT = env.float("STT_TIMEOUT", default=10.0)
AGENT_TIMEOUT = env.float("AGENT_TIMEOUT", default=20.0)
# The dialogue agent: a short name or the import path of a calls.agent.base.Agent subclass.
# "rules" is the embedded rule-based agent (search, orders, order status); "llm" the LLM agent
# above; "repeat" says back
# what it understood (a line check for engineers).
AGENT = env.str("AGENT", default="rules")
# The caller may interrupt the bot by speaking (barge-in).
BARGE_IN = env.bool("BARGE_IN", default=True)

# --- AudioSocket server (python manage.py run_audiosocket; options override these) ----------

AUDIOSOCKET_HOST = env.str("AUDIOSOCKET_HOST", default="127.0.0.1")
AUDIOSOCKET_PORT = env.int("AUDIOSOCKET_PORT", default=9092)
# Per process: with --workers N each process takes up to this many calls.
AUDIOSOCKET_MAX_CALLS = env.int("AUDIOSOCKET_MAX_CALLS", default=200)
AUDIOSOCKET_WORKERS = env.int("AUDIOSOCKET_WORKERS", default=1)
# Connections still waiting for their UUID, per process; more are closed at once.
AUDIOSOCKET_MAX_PENDING = env.int("AUDIOSOCKET_MAX_PENDING", default=256)
AUDIOSOCKET_HANDSHAKE_TIMEOUT = env.float("AUDIOSOCKET_HANDSHAKE_TIMEOUT", default=5.0)
AUDIOSOCKET_IDLE_TIMEOUT = env.float("AUDIOSOCKET_IDLE_TIMEOUT", default=10.0)
AUDIOSOCKET_GRACE_PERIOD = env.float("AUDIOSOCKET_GRACE_PERIOD", default=60.0)
# Asterisk hosts allowed to connect (addresses or networks); AudioSocket has no authentication.
AUDIOSOCKET_ALLOWED_PEERS = env.list(
    "AUDIOSOCKET_ALLOWED_PEERS", default=["127.0.0.0/8", "::1/128"]
)
# The process's /metrics (Prometheus) and /healthz over HTTP on this port (0: off); with
# --workers N, worker i uses port + i. They bind to AUDIOSOCKET_METRICS_HOST: open it to a
# Prometheus on another host only on a trusted network.
AUDIOSOCKET_METRICS_PORT = env.int("AUDIOSOCKET_METRICS_PORT", default=0)
AUDIOSOCKET_METRICS_HOST = env.str("AUDIOSOCKET_METRICS_HOST", default="127.0.0.1")

# --- Test calls (the admin's test-call page; they run in the Daphne process) -----------------

# Test calls one Daphne process serves at once (each loads the speech engines' work on it).
TEST_CALLS_MAX = env.int("TEST_CALLS_MAX", default=4)

# --- Behind a reverse proxy ------------------------------------------------------------------

# The reverse proxies (addresses or networks) whose X-Forwarded-For is believed; empty: none,
# and every allow-list sees the TCP peer. Name your proxy exactly: a client anywhere else can
# write the header (callcenter/client_address.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Call records (calls/recorder.py) ---------------------------------------------------------

# Threads (each with its own database connection) for the agents' turns in one run_audiosocket
# process; the recorder writes in one more (calls/db_threads.py). PostgreSQL only: on SQLite, or
# with 0, everything stays in channels' one thread.
CALL_DB_THREADS = env.int("CALL_DB_THREADS", default=4)

# Every CALL_HEARTBEAT_INTERVAL s each call in progress says its process is alive; one silent
# for CALL_STALE_AFTER s was left by a process that died, and is ended as "server stopped"
# (at a server's start-up, by each server every CALL_RECONCILE_INTERVAL s and by Celery beat).
# So is a call the dialplan announced (POST /calls/<uuid>/caller) that never connected.
CALL_HEARTBEAT_INTERVAL = env.float("CALL_HEARTBEAT_INTERVAL", default=30.0)
CALL_STALE_AFTER = env.float("CALL_STALE_AFTER", default=180.0)
CALL_RECONCILE_INTERVAL = env.float("CALL_RECONCILE_INTERVAL", default=60.0)
# While the database is away the records wait in memory and, fsync'd, in a file here, read back
# by the next process to start (on this host) should this one be stopped before they are written.
RECORDER_SPOOL_DIR = Path(
    env.str("RECORDER_SPOOL_DIR", default="") or BASE_DIR / "var" / "record-spool"
)

# --- Health and metrics of the web process ---------------------------------------------------

# /healthz connects to the AudioSocket server here ("host:port"); empty: no such check.
HEALTHZ_AUDIOSOCKET_ADDRESS = env.str(
    "HEALTHZ_AUDIOSOCKET_ADDRESS", default=f"{AUDIOSOCKET_HOST}:{AUDIOSOCKET_PORT}"
)
# /metrics answers these networks (a Prometheus inside the site) and logged-in staff; anyone
# else gets 403.
METRICS_ALLOWED_NETWORKS = env.list(
    "METRICS_ALLOWED_NETWORKS",
    default=[
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ],
)
