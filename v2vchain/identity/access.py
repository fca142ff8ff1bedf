"""The meeting's access secret: the buyer commits its hash on-chain and shows the secret only at the meeting."""

from __future__ import annotations

import hmac
import secrets

from eth_utils import keccak

from .errors import AccessDenied


def new_access_secret() -> bytes:
    """32 random bytes; the buyer commits keccak(secret) on-chain and reveals the secret only at the meeting."""
    return secrets.token_bytes(32)


def access_hash(secret: bytes) -> bytes:
    return keccak(secret)


def check_access(secret: bytes, committed_hash: bytes) -> None:
    """Raise AccessDenied unless keccak(secret) is the commitment (compared in constant time)."""
    if not hmac.compare_digest(keccak(secret), bytes(committed_hash)):
        raise AccessDenied("the access secret does not match the hash committed on-chain")
