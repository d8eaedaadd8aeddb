"""Navigation entries of the knowledge base: reading for everyone signed in, writing for agents."""

from flask import current_app

from helpdesk import policy


def reader_nav(user):
    return [("Knowledge base", "kb.home")] if policy.can_read_kb(user) else []


def agent_nav(user):
    return [("Articles", "kb_agent.articles")] if policy.can_manage_kb(user) else []


def visitor_link():
    """For the layout: the knowledge base's address for visitors who are not signed in (None when
    they may not read it, KB_PUBLIC off)."""
    return "kb.home" if current_app.config.get("KB_PUBLIC", True) else None
