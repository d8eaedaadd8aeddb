"""Reports for agents and admins: volumes, response times, compliance and backlog."""
