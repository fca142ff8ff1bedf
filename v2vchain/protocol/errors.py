"""Failures of the pure protocol mirror: signatures the contracts would refuse."""

from __future__ import annotations

from v2vchain.errors import InvalidInput


class BadSignature(InvalidInput):
    """A signature outside the strict rule, or one that does not recover to the expected signer."""


class InvalidRoute(InvalidInput):
    """A route that no order may carry: its waypoints, times or encoding are wrong, or it does not match the hash
    its order signed."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid route: {reason}")


class UndecodableCall(InvalidInput):
    """Calldata that the called contract's own decoder would refuse: no contract accepted this call."""
