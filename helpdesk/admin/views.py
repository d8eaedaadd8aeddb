"""The admin blueprint with all its views attached (imported by the app factory)."""

from . import categories, organizations, permissions, users  # noqa: F401  (attach the views to bp)
from .blueprint import bp

__all__ = ["bp"]
