"""The node's errors, each carrying the HTTP status the API answers with."""

from __future__ import annotations

from v2vchain.errors import V2VError


class NodeError(V2VError):
    """A request to the node that cannot be honoured; `status` is the HTTP code the API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class RecordConflict(NodeError):
    """A write would change what a stored record is (its role or counterparty): refused, the record kept."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 409)


class UnpinnedPeer(NodeError):
    """A peer URL this node will not send to: https without a certificate pin, or plain http without the opt-in."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 400)


class OwnerLimitReached(NodeError):
    """One sender already holds as many waiting messages here as the node keeps per sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 429)
