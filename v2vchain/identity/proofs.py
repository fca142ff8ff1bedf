"""The JSON around every EIP-712 proof this project issues: dates, proof objects and their checks.

Credentials and presentations share these, so one proof format and one signature check serve both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak

from v2vchain.protocol import eip712

from .did import address_of, verification_method_id
from .errors import CredentialError, MalformedCredential

VC_CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
PROOF_TYPE = "EthereumEip712Signature2021"
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant an ISO 8601 year of 4 digits can say


def iso(ts: int) -> str:
    """VC 2.0 dateTimeStamp in UTC, whole seconds: one string per signed uint64 timestamp."""
    if not 0 <= ts <= MAX_TIMESTAMP:
        return f"@{ts}"  # only in messages: on-chain expiries may exceed year 9999
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: Any, error: type[CredentialError] = MalformedCredential) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise error(f"not an ISO 8601 date-time: {text!r}") from None
    if moment.tzinfo is None or moment.microsecond:
        raise error(f"date-time must carry a time zone and whole seconds: {text!r}")
    return int(moment.timestamp())


def credential_hash(vc: Any) -> bytes:
    """keccak of the credential as canonical JSON (sorted keys, no spaces; values are strings and integers only)."""
    return keccak(json.dumps(vc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


def make_proof(
    signer_did: str, purpose: str, created: int, signature: bytes, domain: dict[str, Any], types: dict[str, Any]
) -> dict[str, Any]:
    (primary,) = types
    return {
        "type": PROOF_TYPE,
        "created": iso(created),
        "proofPurpose": purpose,
        "verificationMethod": verification_method_id(signer_did),
        "proofValue": "0x" + signature.hex(),
        "eip712": {"domain": domain, "types": types, "primaryType": primary},
    }


def proof_domain(
    proof: Any,
    name_version: tuple[str, str],
    types: dict[str, Any],
    bad: type[CredentialError],
    purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """The embedded EIP-712 domain, after checking the proof names our domain and types (never trusting its own)."""
    try:
        embedded = proof["eip712"]
        domain = embedded["domain"]
        ok = (
            proof["type"] == PROOF_TYPE
            and proof["proofPurpose"] == purpose
            and embedded["types"] == types
            and embedded["primaryType"] == next(iter(types))
            and (domain["name"], domain["version"]) == name_version
            and type(domain["chainId"]) is int
            and isinstance(domain["verifyingContract"], str)
        )
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise bad(
            f"proof is not an {PROOF_TYPE} for {purpose} over {eip712.type_string(types)} in domain {name_version[0]!r}"
        )
    return dict(domain)


def same_deployment(domain: dict[str, Any], chain_id: int | None, registry: str | None) -> bool:
    """None matches any; addresses compare case-insensitively, as EIP-712 encodes them as 20 bytes."""
    return (chain_id is None or domain["chainId"] == chain_id) and (
        registry is None or domain["verifyingContract"].lower() == registry.lower()
    )


def check_signed(
    proof: dict[str, Any],
    signer_did: str,
    domain: dict[str, Any],
    types: dict[str, Any],
    message: dict[str, Any],
    forged: type[CredentialError],
    role: str,
) -> bytes:
    """Recover the proof's signature and insist it is `signer_did`'s account; return the signature."""
    if proof.get("verificationMethod") != verification_method_id(signer_did):
        raise forged(f"proof names verification method {proof.get('verificationMethod')!r}, not the {role}'s")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
        raise forged(f"{role} proofValue is not a 65-byte hex signature")
    signature = bytes.fromhex(value[2:])
    try:
        signer = eip712.recover(domain, types, message, signature)
    except Exception:  # any failure to recover is a bad signature, whatever the library calls it
        signer = None
    expected = address_of(signer_did)
    if signer != expected:
        raise forged(f"{role} signature recovers to {signer}, not to {expected}", signer=signer, expected=expected)
    return signature


def uint_field(
    container: dict[str, Any], key: str, bits: int, error: type[CredentialError] = MalformedCredential
) -> int:
    value = container.get(key)
    if type(value) is not int or not 0 <= value < 2**bits:
        raise error(f"{key} must be an integer in [0, 2**{bits}), got {value!r}")
    return value


def bytes32_field(value: Any, error: type[Exception], name: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise error(f"{name} must be 0x followed by 64 hex digits")
    return bytes.fromhex(value[2:])
