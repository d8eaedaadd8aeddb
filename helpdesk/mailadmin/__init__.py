"""Admin pages for e-mail: the outbox (and development mailbox) with retry, and the inbound log."""
