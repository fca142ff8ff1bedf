"""Checks credentials and presentations share around their proofs: the deployment a proof names, hex fields."""

from __future__ import annotations

import re
from typing import Any

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")


def same_deployment(domain: dict[str, Any], chain_id: int | None, registry: str | None) -> bool:
    """None matches any; addresses compare case-insensitively, as EIP-712 encodes them as 20 bytes."""
    return (chain_id is None or domain["chainId"] == chain_id) and (
        registry is None or domain["verifyingContract"].lower() == registry.lower()
    )


def bytes32_field(value: Any, error: type[Exception], name: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise error(f"{name} must be 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])
