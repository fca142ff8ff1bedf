"""eth-account's own recovery under the strict rule: the reference protocol.recover is held to (in the tests and
scripts/bench_recover.py), as the project verified signatures before the fast path."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.recover import split


def eth_account_signer(domain: dict[str, Any], types: dict[str, Any], message: dict[str, Any], signature: bytes) -> str:
    v, r, s = split(bytes(signature))
    encoded = encode_typed_data(domain_data=domain, message_types=types, message_data=message)
    try:
        signer = str(Account.recover_message(encoded, vrs=(v, r, s)))
    except Exception:  # not a point on the curve, whatever the library calls it
        raise BadSignature("the signature does not recover to any key") from None
    if signer == "0x" + "00" * 20:
        raise BadSignature("the signature recovers to the zero address")
    return signer
