"""The agent console: queue, ticket page, inline edits, subscribers, bulk actions, seat banner."""


def register_agent(app):
    """Register the blueprint (under /agent), its navigation entry and the seat banner."""
    from ..web import register_banner, register_nav
    from . import bulk, queue, subscribers, ticket  # noqa: F401  (attach the views to the blueprint)
    from .banners import agent_nav, seat_banner
    from .blueprint import bp

    app.register_blueprint(bp, url_prefix="/agent")
    register_nav(app, agent_nav, order=20)
    register_banner(app, seat_banner)
