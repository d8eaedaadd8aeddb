# Copy to instance/config.py for local overrides (git-ignored). Environment variables win over it.
# SECRET_KEY = "change-me"
# DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk"
# AGENT_SEAT_LIMIT = 4
# MAIL_BACKEND = "smtp"  # "devbox" keeps mail for /admin/mail; run `flask worker` to deliver
# MAIL_SERVER = "smtp.example.com"; MAIL_PORT = 587; MAIL_USE_TLS = True
# MAIL_USERNAME = "helpdesk"; MAIL_PASSWORD = "secret"
# MAIL_FROM = "support@example.com"; SUPPORT_ADDRESS = "support@example.com"
# IMAP_HOST = "imap.example.com"; IMAP_USERNAME = "support"; IMAP_PASSWORD = "secret"
# REQUIRE_2FA = ("admin",)  # roles that must sign in with two factors (the production default)
# MAIL_TRUSTED_AUTHSERV_ID = "mx.example.com"  # authserv-id of your MTA's Authentication-Results
# MAIL_REQUIRE_AUTH = True  # hold mail whose sender the MTA did not verify (default: production only)
# MAIL_REPLY_TOKEN_DAYS = 90; MAIL_CC_MAX = 5; MAIL_AUTO_PER_HOUR = 3
# ATTACHMENTS_S3_BUCKET = "helpdesk-attachments"  # attachments in S3, shared by every app server
# ATTACHMENTS_S3_ENDPOINT_URL = "http://127.0.0.1:9000"  # MinIO or another S3-compatible store
# ATTACHMENTS_S3_PREFIX = "dev/"  # credentials and region: AWS_* variables, as boto3 reads them
