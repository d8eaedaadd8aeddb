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


class ConcurrentChange(StaleUpdate):
    """The database refused the write because another one held or changed the same rows (a lock
    timeout, a deadlock or a serialization failure): nothing was saved, trying again may work."""


CONFLICT_TEXT = (
    "Someone else changed this ticket at the same moment; your change was not saved. "
    "Reload the page to see the current state and try again."
)

# SQLSTATEs of a lost race: serialization_failure, deadlock_detected, lock_not_available.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_conflict(exc):
    """Whether a DBAPIError is a lost race (retryable) rather than a bug."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in CONFLICT_SQLSTATES:
        return True
    return "database is locked" in str(orig or "")  # SQLite's busy timeout ran out


class InsufficientCredits(DomainError):
    """The bank cannot cover the charge."""


class UploadRejected(ValidationFailed):
    """An uploaded file failed the size, type or content checks."""


class StorageError(DomainError):
    """The attachment store (the upload folder or the S3 bucket) did not answer or refused:
    nothing was stored or read. Logged where it happened; trying again later may work."""

    def __init__(self, message=None):
        super().__init__(message or STORAGE_TEXT)


STORAGE_TEXT = "The file store is not answering right now. Try again in a moment."
