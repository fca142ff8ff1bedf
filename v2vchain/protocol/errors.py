"""Failures of the pure protocol mirror: signatures the contracts would refuse."""

from __future__ import annotations

from v2vchain.errors import InvalidInput


class BadSignature(InvalidInput):
    """A signature outside the strict rule, or one that does not recover to the expected signer."""
