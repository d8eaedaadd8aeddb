"""Agent-side credit features: the ticket's credit panel (paid, bank, alerts) and time entries."""
