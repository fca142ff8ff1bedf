"""Failures of the contract clients beyond a decoded revert."""

from __future__ import annotations

from v2vchain.errors import V2VError


class ClearingDataUnavailable(V2VError):
    """A commit's orders and trades could not be read back from its transaction's calldata."""
