"""The EthereumEip712Signature2021 proof suite (W3C CCG): the whole document is the EIP-712 message.

To sign, the proof options (type, created, proofPurpose, verificationMethod and, for a presentation, challenge
and domain) go in as the document's `proof`; the EIP-712 types are generated from that message by the suite's
types generation algorithm (keys in code-point order; strings `string`, integers `uint256`, booleans `bool`, arrays
of strings `string[]`, each object a struct named after its key with the first letter capitalised). The signature
becomes `proofValue`, and `eip712` carries the domain, the types and the primary type, so any verifier can rebuild
the typed data from the document alone. Verifying regenerates the types from the document and refuses carried
types that differ: a field the types left out would be a field nobody signed.
"""

from __future__ import annotations

import re
from typing import Any

from v2vchain.protocol import eip712

from .did import address_of, verification_method_id
from .errors import CredentialError, InvalidDid

PROOF_TYPE = "EthereumEip712Signature2021"
DOMAIN_TYPES = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
MAX_DEPTH = 4  # objects within objects: the documents here nest two deep, a hostile one must not exhaust the stack
MAX_JSON_INTEGER = 2**53 - 1  # the largest integer every JSON parser reads exactly (I-JSON, RFC 7493)
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_UNSIGNED_PROOF_MEMBERS = ("proofValue", "eip712")


def generate_types(message: dict[str, Any], primary: str, bad: type[CredentialError]) -> dict[str, Any]:
    """The suite's types for `message` with `primary` as its type, plus EIP712Domain; `bad` for what has no type."""
    types: dict[str, Any] = {"EIP712Domain": DOMAIN_TYPES}
    _struct(message, primary, types, bad, 0)
    return types


def _struct(value: dict[str, Any], name: str, types: dict[str, Any], bad: type[CredentialError], depth: int) -> None:
    if not value:
        raise bad(f"{name} is an empty object, which has no EIP-712 type")
    if depth > MAX_DEPTH:
        raise bad(f"{name} nests objects more than {MAX_DEPTH} deep")
    fields = [{"name": key, "type": _field_type(key, value[key], types, bad, depth)} for key in sorted(value)]
    if types.setdefault(name, fields) != fields:
        raise bad(f"two different objects would both be the EIP-712 struct {name}")


def _field_type(key: str, value: Any, types: dict[str, Any], bad: type[CredentialError], depth: int) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if not 0 <= value <= MAX_JSON_INTEGER:
            raise bad(f"{key} must be an integer in [0, 2**53), got {value}")
        return "uint256"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return "string[]"
    if isinstance(value, dict):
        name = key[:1].upper() + key[1:]
        _struct(value, name, types, bad, depth + 1)
        return name
    raise bad(f"{key} has no EIP-712 type in this suite (strings, integers, booleans, objects, lists of strings)")


def sign_document(
    account: Any, document: dict[str, Any], options: dict[str, Any], domain: dict[str, Any], primary: str
) -> dict[str, Any]:
    """`document` with its `proof`: the options, the signature over document + options, and the typed data's shape."""
    message = {**document, "proof": options}
    types = generate_types(message, primary, CredentialError)
    signature = eip712.sign(account, domain, _without_domain(types), message)
    proof = {
        **options,
        "proofValue": "0x" + signature.hex(),
        "eip712": {"domain": domain, "types": types, "primaryType": primary},
    }
    return {**document, "proof": proof}


def proof_options(signer_did: str, purpose: str, created: str, **extra: str) -> dict[str, str]:
    return {
        "type": PROOF_TYPE,
        "created": created,
        "proofPurpose": purpose,
        "verificationMethod": verification_method_id(signer_did),
        **extra,
    }


def typed_data(document: dict[str, Any]) -> dict[str, Any]:
    """The EIP-712 typed data a generic verifier rebuilds from a signed document (its `eip712` and its content)."""
    proof = document["proof"]
    options = {key: value for key, value in proof.items() if key not in _UNSIGNED_PROOF_MEMBERS}
    return {
        "types": proof["eip712"]["types"],
        "domain": proof["eip712"]["domain"],
        "primaryType": proof["eip712"]["primaryType"],
        "message": {**{key: value for key, value in document.items() if key != "proof"}, "proof": options},
    }


def verify_document(
    document: Any,
    *,
    primary: str,
    purpose: str,
    bad: type[CredentialError],
    forged: type[CredentialError],
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(signer DID, EIP-712 domain, proof) of a document whose proof holds; `bad` for its shape, `forged` otherwise.

    The signer is the DID of the proof's verification method; the caller decides whether that is who should sign.
    """
    proof = document.get("proof") if isinstance(document, dict) else None
    if not isinstance(proof, dict) or not _has_eip712_member(proof):
        raise bad(f"the proof is not an {PROOF_TYPE} proof with an eip712 member (domain, types, primaryType)")
    if proof.get("type") != PROOF_TYPE or proof.get("proofPurpose") != purpose:
        raise bad(f"the proof must be of type {PROOF_TYPE} for {purpose}")
    data = typed_data(document)
    domain = data["domain"]
    if not (
        isinstance(domain, dict)
        and set(domain) == {entry["name"] for entry in DOMAIN_TYPES}
        and isinstance(domain["name"], str)
        and isinstance(domain["version"], str)
        and type(domain["chainId"]) is int
        and isinstance(domain["verifyingContract"], str)
    ):
        raise bad("the proof's eip712.domain must hold name, version, chainId and verifyingContract")
    if data["primaryType"] != primary or data["types"] != generate_types(data["message"], primary, bad):
        raise forged(f"the proof's EIP-712 types are not the ones this document generates for {primary}")
    signer_did = _verification_method_did(proof.get("verificationMethod"), bad)
    value = proof.get("proofValue")
    if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
        raise bad("proofValue is not a 65-byte hex signature")
    try:
        signer = eip712.recover(domain, _without_domain(data["types"]), data["message"], bytes.fromhex(value[2:]))
    except Exception:  # any failure to recover is a bad signature, whatever the library calls it
        signer = None
    expected = address_of(signer_did)
    if signer != expected:
        raise forged(f"the proof recovers to {signer}, not to {expected}", signer=signer, expected=expected)
    return signer_did, domain, proof


def _has_eip712_member(proof: dict[str, Any]) -> bool:
    carried = proof.get("eip712")
    return isinstance(carried, dict) and set(carried) == {"domain", "types", "primaryType"}


def _verification_method_did(method: Any, bad: type[CredentialError]) -> str:
    did = method.partition("#")[0] if isinstance(method, str) else ""
    try:
        if verification_method_id(did) != method:
            raise InvalidDid(f"{method!r} is not a did:pkh verification method")
    except InvalidDid as error:
        raise bad(f"verificationMethod: {error}") from None
    return did


def _without_domain(types: dict[str, Any]) -> dict[str, Any]:
    """eth-account derives EIP712Domain from the domain's keys; `verify_document` checked they agree."""
    return {name: fields for name, fields in types.items() if name != "EIP712Domain"}
