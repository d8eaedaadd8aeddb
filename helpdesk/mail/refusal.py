"""The one error of inbound mail: why a message was not posted, and the outcome it is logged under."""

from helpdesk.errors import ValidationFailed


class Refusal(ValidationFailed):
    """This message is not processed; the outcome and reason go to the log with the raw message.

    A ValidationFailed, so an admin accepting a held message through actions.perform sees the
    reason next to the message and nothing is kept."""

    def __init__(self, outcome, reason):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
