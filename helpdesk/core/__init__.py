"""Core pages: home redirect, health check, attachment downloads."""
