"""Configuration: defaults here, overridden by instance/config.py, the environment, then tests."""

import os
import re
from urllib.parse import urlsplit

DEV_SECRET_KEY = "dev-only-not-secret"


def names(raw):
    """A comma-separated list from the environment as a tuple: "admin, technician" -> ("admin", "technician")."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


# Settings read from the environment, with the type to parse them as.
ENV_SETTINGS = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "HELPDESK_ENV": str,
    "AGENT_SEAT_LIMIT": int,
    "DATABASE_PING_IDLE_SECONDS": float,
    "PRESENCE_HEARTBEAT_SECONDS": int,
    "THREAD_RECENT_MESSAGES": int,
    "UPGRADE_URL": str,
    "STRIPE_SECRET_KEY": str,
    "STRIPE_WEBHOOK_SECRET": str,
    "STRIPE_PUBLISHABLE_KEY": str,
    "STRIPE_API_BASE": str,
    "DEMO_PAYMENTS": bool,
    "CURRENCY": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": bool,
    "MAIL_USE_SSL": bool,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_FROM": str,
    "MAIL_BACKEND": str,
    "SUPPORT_ADDRESS": str,
    "IMAP_HOST": str,
    "IMAP_PORT": int,
    "IMAP_USERNAME": str,
    "IMAP_PASSWORD": str,
    "PUBLIC_URL": str,
    "MAIL_FROM_NAME": str,
    "MAIL_MAX_ATTEMPTS": int,
    "MAIL_CC_SUBSCRIBE": bool,
    "MAIL_INBOUND_RATE_LIMIT": int,
    "IMAP_FOLDER": str,
    "IMAP_USE_SSL": bool,
    "DEFAULT_CATEGORY": str,
    "DEFAULT_TIMEZONE": str,
    "SLA_WARN_AT": int,
    "HSTS_SECONDS": int,
    "UPLOAD_MAX_FILES": int,
    "BRANDING_LOGO_MAX_BYTES": int,
    "UPLOAD_MAX_POST_MB": int,
    "UPLOAD_STAGED_QUOTA_MB": int,
    "UPLOAD_STAGED_MAX_HOURS": int,
    "AUTO_CLOSE_DAYS": int,
    "REQUIRE_2FA": names,
    "REAUTH_MINUTES": int,
    "LOGIN_MAX_FAILURES": int,
    "LOGIN_MAX_FAILURES_ACCOUNT": int,
    "LOGIN_MAX_FAILURES_ADDRESS": int,
    "LOGIN_FAILURE_WINDOW_MINUTES": int,
    "REGISTER_PER_HOUR": int,
    "CONFIRM_MAX_AGE_HOURS": int,
    "ARGON2_TIME_COST": int,
    "ARGON2_MEMORY_COST": int,
    "ARGON2_PARALLELISM": int,
    "MAIL_REPLY_TOKEN_DAYS": int,
    "MAIL_TRUSTED_AUTHSERV_ID": str,
    "MAIL_REQUIRE_AUTH": bool,
    "MAIL_CC_MAX": int,
    "MAIL_AUTO_PER_HOUR": int,
    "UPLOAD_FOLDER": str,
    "ATTACHMENTS_S3_BUCKET": str,
    "ATTACHMENTS_S3_ENDPOINT_URL": str,
    "ATTACHMENTS_S3_PREFIX": str,
    "KB_PUBLIC": bool,
    "KB_DEFLECTION_MINUTES": int,
    "KB_COUNT_SECONDS": int,
    # webhooks (README "Webhooks")
    "WEBHOOK_ALLOW_PRIVATE": bool,
    "WEBHOOK_ALLOW_HTTP": bool,
    # REST API (docs/api.md): hours `flask api prune-idempotency` keeps Idempotency-Key answers
    "API_IDEMPOTENCY_KEEP_HOURS": int,
}


class Config:
    """Defaults, safe for development; production must override the secrets."""

    # Outbound webhooks (README "Webhooks"): delivered by `flask worker` beside the mail.
    WEBHOOK_ALLOW_PRIVATE = False  # deliver to private, loopback, link-local and reserved addresses
    WEBHOOK_ALLOW_HTTP = False  # accept http:// endpoint URLs (https only otherwise)
    WEBHOOK_TIMEOUT_SECONDS = 5
    WEBHOOK_MAX_ATTEMPTS = 14  # spans a day with the backoff below; then failed ("Redeliver" queues it)
    WEBHOOK_BACKOFF_SECONDS = 60  # 1 min, 2, 4, ... capped below
    WEBHOOK_BACKOFF_MAX_SECONDS = 4 * 3600
    # A claimed delivery whose worker died is tried again after this, beyond the batch's attempts
    # (webhooks.delivery.lease: WEBHOOK_WORKER_BATCH x WEBHOOK_TIMEOUT_SECONDS + this)
    WEBHOOK_LEASE_SECONDS = 120
    WEBHOOK_DISABLE_AFTER_HOURS = 24  # every attempt failed this long: the endpoint is disabled
    WEBHOOK_WORKER_BATCH = 20

    HELPDESK_ENV = "development"
    SECRET_KEY = DEV_SECRET_KEY
    DATABASE_URL = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {}
    # PostgreSQL: a pooled connection is checked with a ping before use only after it sat idle
    # this long (helpdesk/__init__.py, _configure_postgresql); SQLite's files need no check.
    DATABASE_PING_IDLE_SECONDS = 1.0
    WTF_CSRF_TIME_LIMIT = None  # token valid for the session's lifetime
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # Accounts and sign-in (README "Accounts and sign-in"). argon2id with argon2-cffi's defaults
    # (RFC 9106's low-memory profile: 3 passes over 64 MiB, 4 lanes); tests use a cheap profile.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536  # KiB
    ARGON2_PARALLELISM = 4
    LOGIN_MAX_FAILURES = 5  # per account and client address
    LOGIN_MAX_FAILURES_ACCOUNT = 10  # per account, from any address (then only addresses without failures)
    LOGIN_MAX_FAILURES_ADDRESS = 100  # per client address, over all accounts
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    REGISTER_PER_HOUR = 10  # registrations (and confirmation resends) per client address
    CONFIRM_MAX_AGE_HOURS = 72  # an address confirmation link works this long
    REQUIRE_2FA = None  # roles that must use two factors; None: ("admin",) in production, () elsewhere
    REAUTH_MINUTES = 10  # money-moving and role-changing actions need a sign-in this recent
    MAX_CONTENT_LENGTH = None  # None: UPLOAD_MAX_POST_MB and 1 MiB for the form's fields (finish_config)
    MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
    MAX_ATTACHMENTS_PER_POST = 5
    BRANDING_LOGO_MAX_BYTES = 512 * 1024  # the desk's logo (/admin/branding): PNG, JPEG or WebP
    UPLOAD_FOLDER = None  # None: instance/uploads (used when ATTACHMENTS_S3_BUCKET is not set)
    # Attachments in S3-compatible object storage, shared by every app server (tickets/storage.py).
    # Credentials and region: boto3's usual AWS_* variables, ~/.aws or the host's role.
    ATTACHMENTS_S3_BUCKET = None  # None: files in UPLOAD_FOLDER on this host
    ATTACHMENTS_S3_ENDPOINT_URL = None  # e.g. http://minio.internal:9000; None: AWS S3
    ATTACHMENTS_S3_PREFIX = ""  # key prefix inside the bucket, e.g. "helpdesk/"
    PER_PAGE = 25
    THREAD_RECENT_MESSAGES = 50  # a ticket page shows its latest messages; earlier ones behind a link
    PRESENCE_HEARTBEAT_SECONDS = 10  # the ticket page's "who else is here" heartbeat; present for 3 of them
    AGENT_SEAT_LIMIT = 4
    SLA_WARN_AT = 75  # per cent of a target after which a paid ticket is at risk (warned once)
    UPGRADE_URL = "https://example.com/upgrade"
    DEFAULT_TIMEZONE = "UTC"
    CURRENCY = "usd"
    STRIPE_SECRET_KEY = None
    STRIPE_WEBHOOK_SECRET = None
    STRIPE_PUBLISHABLE_KEY = None
    STRIPE_API_BASE = None
    DEMO_PAYMENTS = False
    MAIL_BACKEND = "outbox"  # "smtp" delivers; "devbox" keeps mail for the admin page
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_FROM = "support@helpdesk.example"
    SUPPORT_ADDRESS = "support@helpdesk.example"
    MAIL_FROM_NAME = "Help desk"
    MAIL_TIMEOUT = 30  # seconds per SMTP or IMAP conversation step
    MAIL_MAX_ATTEMPTS = 8  # then the message is marked failed and shown at /admin/mail
    MAIL_BACKOFF_SECONDS = 60  # first retry after 1 min, then 2, 4, ... capped below
    MAIL_BACKOFF_MAX_SECONDS = 6 * 3600
    MAIL_LEASE_SECONDS = 900  # a claimed message is retried (same Message-ID) if its worker died
    MAIL_WORKER_BATCH = 50
    MAIL_CC_SUBSCRIBE = True  # Cc of a customer's new-ticket mail become subscribers
    MAIL_INBOUND_RATE_LIMIT = 20  # messages per sender per hour; more are logged, not processed
    MAIL_MAX_MESSAGE_BYTES = 25 * 1024 * 1024  # larger inbound mail is refused (and kept in the log)
    MAIL_REPLY_TOKEN_DAYS = 90  # a per-recipient reply address proves its recipient this long
    MAIL_TRUSTED_AUTHSERV_ID = None  # authserv-id of our receiving MTA's Authentication-Results
    MAIL_REQUIRE_AUTH = None  # hold mail the MTA did not authenticate; None: on in production only
    MAIL_CC_MAX = 5  # Cc addresses of one new-ticket mail that may become subscribers
    MAIL_AUTO_PER_HOUR = 3  # automatic mails (acknowledgements, "you now follow") per address and hour
    IMAP_HOST = None
    IMAP_PORT = 993
    IMAP_USE_SSL = True
    IMAP_USERNAME = None
    IMAP_PASSWORD = None
    IMAP_FOLDER = "INBOX"
    DEFAULT_CATEGORY = None  # name; None: the first active category
    DEFAULT_PRIORITY = "Normal"  # the free priority given to tickets opened by e-mail
    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid
    PUBLIC_URL = None  # the address users reach the desk at, for links in mail; required in production
    HSTS_SECONDS = None  # Strict-Transport-Security max-age; production: a year unless set (0: off)
    UPLOAD_MAX_FILES = 10  # files per request (web forms)
    UPLOAD_MAX_POST_MB = 25  # all files of one request together
    UPLOAD_STAGED_QUOTA_MB = 50  # files one user has staged (uploaded with a form not yet sent)
    UPLOAD_STAGED_MAX_HOURS = 24  # `flask uploads clean` removes staged files older than this
    # `flask tickets auto-close` closes tickets resolved this many days ago with nothing since
    # (no reply, note or edit); 0 turns it off.
    AUTO_CLOSE_DAYS = 7
    # Knowledge base (README "Knowledge base"): visitors who are not signed in read public articles
    # only when KB_PUBLIC is on; an opened suggestion counts as a deflection when its reader submits
    # no ticket within KB_DEFLECTION_MINUTES (computed by the report, never by a timer).
    KB_PUBLIC = True
    KB_DEFLECTION_MINUTES = 60
    KB_COUNT_SECONDS = 30  # views and searches are written in batches at most this old (kb/counts.py)
    KB_COUNT_BATCH = 500  # ... or once this many counts wait


def parse_env_value(kind, raw):
    """Turn an environment string into the setting's type; bad values fail loudly."""
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"not a boolean: {raw!r}")
    return kind(raw)


def from_environment(environ=None):
    """The settings present in the environment (HELPDESK_<NAME> wins over <NAME>)."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, kind in ENV_SETTINGS.items():
        for key in (f"HELPDESK_{name}", name):
            if key in environ and not (name == "HELPDESK_ENV" and key.startswith("HELPDESK_HELPDESK")):
                found[name] = parse_env_value(kind, environ[key])
                break
    return found


def apply_environment_defaults(config):
    """Settings whose default depends on the environment: two factors for admins in production."""
    if config.get("REQUIRE_2FA") is None:
        config["REQUIRE_2FA"] = ("admin",) if config.get("HELPDESK_ENV") == "production" else ()
    config["REQUIRE_2FA"] = tuple(config["REQUIRE_2FA"])


BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_storage(config):
    """Refuse attachment storage settings that could never work, naming the setting."""
    bucket = config.get("ATTACHMENTS_S3_BUCKET") or None
    endpoint = config.get("ATTACHMENTS_S3_ENDPOINT_URL") or None
    config["ATTACHMENTS_S3_BUCKET"], config["ATTACHMENTS_S3_ENDPOINT_URL"] = bucket, endpoint
    if bucket and not BUCKET_NAME.match(bucket):
        raise RuntimeError(
            f"ATTACHMENTS_S3_BUCKET={bucket!r} is not a bucket name "
            "(3 to 63 lower-case letters, digits, dots and hyphens)."
        )
    if endpoint and not bucket:
        raise RuntimeError(
            "ATTACHMENTS_S3_ENDPOINT_URL is set but ATTACHMENTS_S3_BUCKET is not: name the bucket."
        )
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RuntimeError(
                f"ATTACHMENTS_S3_ENDPOINT_URL={endpoint!r} is not an http(s) URL, e.g. http://minio.internal:9000."
            )
    if ".." in (config.get("ATTACHMENTS_S3_PREFIX") or "").split("/"):
        raise RuntimeError("ATTACHMENTS_S3_PREFIX may not contain '..'.")


def check_production(config):
    """Refuse to start a production app with development secrets or demo features. Settings whose
    default differs between production and development (None: unset) get the one for HELPDESK_ENV."""
    if not config.get("PUBLIC_URL") and config.get("HELPDESK_ENV") != "production":
        config["PUBLIC_URL"] = "http://127.0.0.1:5000"  # `make run`'s address (PORT=... changes it)
    if config.get("MAIL_REQUIRE_AUTH") is None:
        config["MAIL_REQUIRE_AUTH"] = config.get("HELPDESK_ENV") == "production"
    if config.get("HELPDESK_ENV") != "production":
        return
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError("Production needs SECRET_KEY set to a long random value.")
    if config.get("DEMO_PAYMENTS"):
        raise RuntimeError("DEMO_PAYMENTS is for demos only; production refuses it.")
    if not config.get("DATABASE_URL"):
        raise RuntimeError("Production needs DATABASE_URL (PostgreSQL).")
    if not config.get("PUBLIC_URL") or not str(config["PUBLIC_URL"]).startswith("https://"):
        raise RuntimeError(
            "Production needs PUBLIC_URL, the https:// address users reach the desk at "
            "(links in mail are built from it)."
        )
    config["SESSION_COOKIE_SECURE"] = True
    config["REMEMBER_COOKIE_SECURE"] = True
    # __Host- cookies: the browser refuses them unless Secure, for the whole site (Path=/) and
    # without Domain, so a sibling subdomain can neither read nor plant them.
    config["SESSION_COOKIE_NAME"] = "__Host-session"
    config["REMEMBER_COOKIE_NAME"] = "__Host-remember"
    config["SESSION_COOKIE_DOMAIN"] = None
    config["SESSION_COOKIE_PATH"] = "/"
    config["REMEMBER_COOKIE_DOMAIN"] = None
    config["REMEMBER_COOKIE_PATH"] = "/"
    if config.get("HSTS_SECONDS") is None:
        config["HSTS_SECONDS"] = 365 * 24 * 3600
