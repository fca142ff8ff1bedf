"""The Registry: issuers authorised by the admin, and vehicles registered with their credentials."""

from __future__ import annotations

from dataclasses import dataclass

from v2vchain.identity.registration import Credential
from v2vchain.protocol.abi_values import bytes32, uint

from .base import ContractClient


@dataclass(frozen=True)
class VehicleRecord:
    issuer: str
    expiry: int
    roles: int
    revoked: bool


class RegistryClient(ContractClient):
    def add_issuer(self, issuer: str) -> None:
        self._transact("addIssuer", issuer)

    def remove_issuer(self, issuer: str) -> None:
        self._transact("removeIssuer", issuer)

    def register(self, credential: Credential) -> None:
        self._transact(
            "register",
            credential.vehicle,
            bytes32("didHash", credential.did_hash),
            uint("roles", credential.roles, 8),
            uint("expiry", credential.expiry, 64),
            credential.signature,
        )

    def revoke(self, vehicle: str) -> None:
        self._transact("revoke", vehicle)

    def is_issuer(self, issuer: str) -> bool:
        return bool(self._call("isIssuer", issuer))

    def is_active(self, vehicle: str, role: int) -> bool:
        return bool(self._call("isActive", vehicle, uint("role", role, 8)))

    def vehicle(self, vehicle: str) -> VehicleRecord:
        issuer, expiry, roles, revoked = self._call("vehicles", vehicle)
        return VehicleRecord(issuer=issuer, expiry=int(expiry), roles=int(roles), revoked=bool(revoked))

    def did_of(self, vehicle: str) -> bytes:
        """The DID hash the vehicle is registered under (zero when none)."""
        return bytes(self._call("didOf", vehicle))

    def credential_digest(self, credential: Credential) -> bytes:
        return bytes(
            self._call("credentialDigest", credential.vehicle, credential.did_hash, credential.roles, credential.expiry)
        )
