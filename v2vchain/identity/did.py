"""did:pkh identifiers: a vehicle's DID is its account, resolved from the DID alone.

One account has one DID string: the address in its EIP-55 checksummed spelling. Parsing accepts an all-lower or
all-upper address too (a mixed-case one must carry a valid checksum), but every DID this package produces, hashes for
the Registry or compares is the canonical one.
"""

from __future__ import annotations

import re
from typing import Any

from eth_utils import keccak, to_checksum_address

from .errors import InvalidDid


def did_for(address: str, chain_id: int) -> str:
    """did:pkh (CAIP-10): the DID is the account itself, so resolving it needs no registry of documents."""
    return f"did:pkh:eip155:{chain_id}:{to_checksum_address(address)}"


def canonical_did(did: str) -> str:
    """The one spelling of `did`: its address EIP-55 checksummed; InvalidDid if it is not a did:pkh DID."""
    chain_id, address = parse_did(did)
    return f"did:pkh:eip155:{chain_id}:{address}"


def did_hash(did: str) -> bytes:
    """What the Registry binds to an address: keccak of the canonical DID, so no other spelling binds a second time."""
    return keccak(text=canonical_did(did))


# CAIP-2 eip155 references are decimal chain ids; CAIP-10 account ids are 0x-addresses.
_DID_PKH = re.compile(r"did:pkh:eip155:(?P<chain>[1-9][0-9]{0,31}):(?P<address>0x[0-9a-fA-F]{40})")
VERIFICATION_FRAGMENT = "#blockchainAccountId"
DID_CONTEXT = [
    "https://www.w3.org/ns/did/v1",
    {
        "EcdsaSecp256k1RecoveryMethod2020": "https://identity.foundation/EcdsaSecp256k1RecoverySignature2020#EcdsaSecp256k1RecoveryMethod2020",
        "blockchainAccountId": "https://w3id.org/security#blockchainAccountId",
    },
]


def parse_did(did: str) -> tuple[int, str]:
    """(chain id, checksummed address) of a did:pkh DID; a mixed-case address must carry a valid EIP-55 checksum."""
    match = _DID_PKH.fullmatch(did) if isinstance(did, str) else None
    if match is None:
        raise InvalidDid(f"not a did:pkh:eip155:<chainId>:<0x address> DID: {did!r}")
    address = match["address"]
    checksummed = to_checksum_address(address)
    body = address[2:]
    if body != body.lower() and body != body.upper() and address != checksummed:
        raise InvalidDid(f"address in {did!r} has a wrong EIP-55 checksum (expected {checksummed})")
    return int(match["chain"]), checksummed


def address_of(did: str) -> str:
    return parse_did(did)[1]


def verification_method_id(did: str) -> str:
    """The one key of a did:pkh document: signatures recover to the account, so the account is the key."""
    parse_did(did)
    return did + VERIFICATION_FRAGMENT


def resolve_did(did: str) -> dict[str, Any]:
    """The W3C DID Core document of a did:pkh DID, built from the DID alone (no registry, no network)."""
    method_id = verification_method_id(did)
    return {
        "@context": DID_CONTEXT,
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": did,
                "blockchainAccountId": did.removeprefix("did:pkh:"),
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
    }
