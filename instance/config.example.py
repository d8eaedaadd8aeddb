# Copy to instance/config.py for local overrides (git-ignored). Environment variables win over it.
# SECRET_KEY = "change-me"
# DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/helpdesk"
# AGENT_SEAT_LIMIT = 4
