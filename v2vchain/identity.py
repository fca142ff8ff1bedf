"""Vehicle identifiers and issuer credentials, in the exact fields the Registry verifies on-chain."""
from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from . import eip712

ROLE_BUYER = 1
ROLE_SELLER = 2
ROLE_BOTH = ROLE_BUYER | ROLE_SELLER


def did_for(address: str, chain_id: int) -> str:
    """did:pkh (CAIP-10): the DID is the account itself, so resolving it needs no registry of documents."""
    return f"did:pkh:eip155:{chain_id}:{address}"


def did_hash(did: str) -> bytes:
    return keccak(text=did)


@dataclass(frozen=True)
class Credential:
    vehicle: str
    did: str
    roles: int
    expiry: int
    issuer: str
    signature: bytes

    @property
    def did_hash(self) -> bytes:
        return did_hash(self.did)


def issue_credential(issuer: LocalAccount, *, registry: str, chain_id: int, vehicle: str, did: str, roles: int,
                     expiry: int) -> Credential:
    message = {"vehicle": vehicle, "didHash": did_hash(did), "roles": roles, "expiry": expiry}
    domain = eip712.domain(eip712.REGISTRY_DOMAIN, chain_id, registry)
    signature = eip712.sign(issuer, domain, eip712.CREDENTIAL_TYPES, message)
    return Credential(vehicle=vehicle, did=did, roles=roles, expiry=expiry, issuer=issuer.address,
                      signature=signature)
