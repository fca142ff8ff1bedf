"""The one signature rule, the contracts' own (OpenZeppelin ECDSA): 65 bytes r || s || v, 0 < r < n,
0 < s <= n/2 (canonical), v of 27 or 28, and a recovered signer that is not zero.

Python's eth_account alone accepts more (high s, v of 0 or 1): a signature it recovers may still be refused on-chain,
and a malleated copy of a genuine one would pass as a different byte string. Everything the node checks (bids, meter
receipts, orders, credentials and presentations) goes through here, so the node accepts exactly what the chain does.
The rule and the recovery itself (libsecp256k1, answering as eth-account does) are protocol/recover.py's.
"""

from __future__ import annotations

from typing import Any

from .errors import BadSignature
from .recover import HALF_N, SECP256K1_N, recover_typed, split

__all__ = ["HALF_N", "SECP256K1_N", "malleate", "recover_typed", "split", "verify_typed"]


def verify_typed(
    domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], signature: bytes, expected: str
) -> str:
    """Recover under the strict rule and insist on `expected` (compared as addresses, case-insensitively)."""
    signer = recover_typed(domain, types, message, signature)
    if signer.lower() != expected.lower():
        raise BadSignature(f"signed by {signer}, not by {expected}")
    return signer


def malleate(signature: bytes) -> bytes:
    """The other valid-looking form of a signature (s -> n - s, v flipped): what an attacker can derive without
    the key. Refused by `split`; here for tests."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v if v in (27, 28) else v ^ 1])
