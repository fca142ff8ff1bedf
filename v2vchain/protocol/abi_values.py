"""Checks that a Python value fits the Solidity type it is sent as, so a bad value fails with its name, not as an
opaque encoding error after a key is unlocked or a transaction built."""

from __future__ import annotations

from typing import Any

from v2vchain.errors import InvalidInput


def uint(name: str, value: Any, bits: int = 256) -> int:
    """Reject what web3 would otherwise turn into an opaque encoding error, before anything is sent."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}")
    if value < 0 or value >= 1 << bits:
        raise InvalidInput(f"{name}={value} is outside uint{bits} (0 .. 2**{bits}-1)")
    return value


def bytes32(name: str, value: Any) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            value = bytes.fromhex(value[2:])
        except ValueError:
            raise InvalidInput(f"{name} is not hex") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        raise InvalidInput(f"{name} must be 32 bytes")
    return bytes(value)
