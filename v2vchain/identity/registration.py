"""The credential the Registry verifies on-chain: an issuer's EIP-712 signature over exactly its fields."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from v2vchain.protocol import eip712

from .did import canonical_did, did_hash

ROLE_BUYER = 1
ROLE_SELLER = 2
ROLE_BOTH = ROLE_BUYER | ROLE_SELLER


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


def issue_credential(
    issuer: LocalAccount, *, registry: str, chain_id: int, vehicle: str, did: str, roles: int, expiry: int
) -> Credential:
    """The issuer's authorisation for Registry.register; the DID is hashed in its canonical spelling."""
    did = canonical_did(did)
    message = {"vehicle": vehicle, "didHash": did_hash(did), "roles": roles, "expiry": expiry}
    domain = eip712.domain(eip712.REGISTRY_DOMAIN, chain_id, registry)
    signature = eip712.sign(issuer, domain, eip712.CREDENTIAL_TYPES, message)
    return Credential(vehicle=vehicle, did=did, roles=roles, expiry=expiry, issuer=issuer.address, signature=signature)
