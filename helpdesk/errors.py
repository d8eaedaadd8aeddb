"""Domain errors raised by services; views turn them into form errors or status codes."""


class DomainError(Exception):
    """A rule of the help desk refused the action; the message is safe to show the user."""


class NotAllowed(DomainError):
    """The actor may not do this."""


class NotFound(DomainError):
    """The object does not exist or the actor may not see it (both answer 404)."""


class ValidationFailed(DomainError):
    """Input that passed the form's shape checks broke a domain rule."""


class StaleUpdate(DomainError):
    """The change was based on an outdated view of the object."""


class InsufficientCredits(DomainError):
    """The bank cannot cover the charge."""


class UploadRejected(ValidationFailed):
    """An uploaded file failed the size, type or content checks."""
