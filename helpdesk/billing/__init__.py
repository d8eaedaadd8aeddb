"""Billing blueprint: buy credit packs by card, receipts, the Stripe webhook and billing admin pages."""

from . import admin, views  # noqa: F401  (attach their routes to the blueprint)
from .blueprint import bp

__all__ = ["bp"]
