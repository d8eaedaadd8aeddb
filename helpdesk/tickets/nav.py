"""Navigation entries of the tickets domain: the portal's lists and form, the agent queue."""

from helpdesk import policy


def portal_nav(user):
    return [("My tickets", "tickets_portal.tickets"), ("New ticket", "tickets_portal.new_ticket")]


def agent_nav(user):
    return [("Queue", "tickets_agent.queue")] if policy.can_use_agent_console(user) else []
