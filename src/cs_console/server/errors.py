"""The refusal every server rule raises, mapped by the HTTP layer to a JSON error."""

from __future__ import annotations


class OperationError(Exception):
    """A request the server refuses; ``status`` is the HTTP status to answer with.

    ``str()`` is one short line for the agent (the error body's ``error``); ``detail``
    may say more (what the rule is, what would be allowed instead).
    """

    def __init__(self, status: int, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail or message
