"""The knowledge base's blueprints: readers' pages (/kb, everyone the policy lets read) and the
agents' pages (/agent/kb: writing, revisions, feedback, the ticket page's panel)."""

from flask import Blueprint

from helpdesk.access import agent_blueprint

reader_bp = Blueprint("kb", __name__)  # /kb: home, categories, search, articles, suggestions, sitemap
agent_bp = agent_blueprint("kb_agent", __name__)  # /agent/kb: active technicians and admins
