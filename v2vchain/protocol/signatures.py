"""The one signature rule, the contracts' own (OpenZeppelin ECDSA): 65 bytes r || s || v, 0 < r < n,
0 < s <= n/2 (canonical), v of 27 or 28, and a recovered signer that is not zero.

Python's eth_account alone accepts more (high s, v of 0 or 1): a signature it recovers may still be refused on-chain,
and a malleated copy of a genuine one would pass as a different byte string. Everything the node checks (bids, meter
receipts, orders, credentials and presentations) goes through here, so the node accepts exactly what the chain does.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from .errors import BadSignature

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_N = SECP256K1_N // 2
ZERO_ADDRESS = "0x" + "00" * 20


def split(signature: bytes) -> tuple[int, int, int]:
    """(v, r, s) of a signature that meets the rule, or BadSignature."""
    if not isinstance(signature, (bytes, bytearray)) or len(signature) != 65:
        raise BadSignature(f"a signature is 65 bytes, got {len(signature) if hasattr(signature, '__len__') else '?'}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if not 0 < r < SECP256K1_N:
        raise BadSignature("signature r is out of range")
    if not 0 < s <= HALF_N:
        raise BadSignature("signature s is not canonical (s must be at most secp256k1n/2)")
    if v not in (27, 28):
        raise BadSignature(f"signature v must be 27 or 28, got {v}")
    return v, r, s


def recover_typed(domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], signature: bytes) -> str:
    """The signer of EIP-712 typed data under the strict rule; never the zero address."""
    v, r, s = split(bytes(signature))
    encoded = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    try:
        signer = str(Account.recover_message(encoded, vrs=(v, r, s)))
    except Exception:  # not a point on the curve, whatever the library calls it
        raise BadSignature("the signature does not recover to any key") from None
    if signer == ZERO_ADDRESS:
        raise BadSignature("the signature recovers to the zero address")
    return signer


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
