"""Flask extensions, created unbound; the app factory initialises them."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import MetaData

# Named constraints from the first migration, so later ALTERs work on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx_ext = Htmx()  # not "htmx": that name is our helpdesk.htmx module

# An execution option for a transaction whose commit need not reach the disk before it returns
# (`db.session.connection(execution_options={RELAXED_COMMIT: True})` before its first statement):
# on SQLite it runs with `synchronous=NORMAL` (in WAL mode a power cut may forget it, a crash of
# the app does not; the database stays consistent), and the connection is back to FULL when it
# returns to the pool. The API's rate-limit count uses it, as PostgreSQL's `synchronous_commit = off`.
RELAXED_COMMIT = "helpdesk_relaxed_commit"
