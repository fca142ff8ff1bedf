"""The Registry's state at each moment of the index: who is an issuer, and which vehicle may trade in which role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from v2vchain.audit.store import Event

from .core import LedgerCore


@dataclass
class VehicleState:
    did_hash: str
    issuer: str
    roles: int
    expiry: int
    registered: Event
    revoked: Event | None = None


class RegistryBooks(LedgerCore):
    def __init__(self) -> None:
        super().__init__()
        self.issuers: set[str] = set()
        self.vehicles: dict[str, VehicleState] = {}

    def not_active(self, vehicle: str, role: int, ts: int) -> str | None:
        """Why `vehicle` could not trade in `role` at time ts by the Registry's events so far; None if it could."""
        v = self.vehicles.get(vehicle)
        if v is None:
            return "not registered"
        if v.revoked is not None:
            return f"revoked at block {v.revoked.block_number} (tx {v.revoked.tx_hash})"
        if v.expiry <= ts:
            return f"credential expired at {v.expiry}"
        if v.roles & role != role:
            return f"registered with roles {v.roles}, lacks role {role}"
        if v.issuer not in self.issuers:
            return f"issuer {v.issuer} not authorised"
        return None

    def _on_Registry_IssuerAdded(self, e: Event, a: dict[str, Any]) -> None:
        self.issuers.add(a["issuer"])

    def _on_Registry_IssuerRemoved(self, e: Event, a: dict[str, Any]) -> None:
        self.issuers.discard(a["issuer"])

    def _on_Registry_VehicleRegistered(self, e: Event, a: dict[str, Any]) -> None:
        self.vehicles[a["vehicle"]] = VehicleState(a["didHash"], a["issuer"], int(a["roles"]), int(a["expiry"]), e)

    def _on_Registry_VehicleRevoked(self, e: Event, a: dict[str, Any]) -> None:
        if a["vehicle"] in self.vehicles:
            self.vehicles[a["vehicle"]].revoked = e
