"""The meeting of two matched vehicles: mutual presentations bound to fresh challenges, then the exact meeting
point and the access secret sealed to the counterparty's key. Nothing here is sent to anyone but the counterparty.
The same flow serves a Market request and a cleared trade; what differs by venue is in node/meeting_venues.py.
"""

from __future__ import annotations

import json
from typing import Any

from eth_utils import keccak

from v2vchain.identity.access import check_access
from v2vchain.identity.credentials import VerifiedCredential
from v2vchain.identity.did import did_for
from v2vchain.identity.errors import CredentialError
from v2vchain.identity.presentations import VerifiedPresentation, Verifier, present
from v2vchain.privacy.seal import open_sealed, public_bytes, seal, x25519_key

from .errors import NodeError
from .meeting_venues import ClearingVenue, MarketVenue, TradeRef, Venue
from .peers import answer_field
from .service import VehicleNode


class Meetings:
    """One node's meeting state. Challenges live in memory only: after a restart, the other side asks again."""

    def __init__(self, node: VehicleNode) -> None:
        self.node = node
        system = node.system
        self.seal_key = x25519_key(bytes(node.account.key))
        self.verifier = Verifier(
            node.did,
            chain_id=node.chain.chain_id,
            registry=system.registry.address,
            registry_facts=self._registry_facts,
            clock=node.chain.now,
        )
        self.venues: dict[str, Venue] = {"market": MarketVenue(node), "clearing": ClearingVenue(node)}

    @property
    def seal_public(self) -> bytes:
        return public_bytes(self.seal_key)

    def _registry_facts(self, vehicle: str) -> tuple[bool, bool, int]:
        record = self.node.system.registry.vehicle(vehicle)
        authorised = record.issuer != "0x" + "00" * 20 and self.node.system.registry.is_issuer(record.issuer)
        return authorised, record.revoked, record.expiry

    def present_to(self, challenge: str, verifier_did: str) -> dict[str, Any]:
        return present(
            self.node.account,
            self.node.credential,
            challenge=challenge,
            domain=verifier_did,
            seal_key=self.seal_public,
            now=self.node.chain.now(),
        )

    def verify(self, presentation: Any, *expected_holders: str) -> VerifiedPresentation:
        """The presentation verified, and by one of `expected_holders` (the counterparty, or a trade's parties)."""
        try:
            verified = self.verifier.verify(presentation)
        except CredentialError as exc:
            raise NodeError(f"{type(exc).__name__}: {exc}", 401) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(f"malformed presentation: {exc}", 400) from None
        if verified.holder.lower() not in {h.lower() for h in expected_holders}:
            raise NodeError(
                f"presentation is by {verified.holder}, the counterparty is {' or '.join(expected_holders)}", 403
            )
        self._check_registration(verified.credential)
        return verified

    def _check_registration(self, credential: VerifiedCredential) -> None:
        """The credential must be the one the Registry holds: issued by the issuer that registered the vehicle, with
        the same roles and DID hash (the verifier has already checked it is unrevoked, unexpired and of the
        registered expiry). A credential the vehicle issued to itself, or any other issuer's, is refused."""
        registry = self.node.system.registry
        record = registry.vehicle(credential.vehicle)
        if record.issuer.lower() != credential.issuer.lower():
            raise NodeError(
                f"the credential is issued by {credential.issuer}, but {credential.vehicle} was "
                f"registered by {record.issuer}",
                401,
            )
        if record.roles != credential.roles:
            raise NodeError(f"the credential grants roles {credential.roles}, the Registry holds {record.roles}", 401)
        if registry.did_of(credential.vehicle) != keccak(text=credential.did):
            raise NodeError(f"the credential's DID {credential.did} is not the one registered for the vehicle", 401)

    # ------------------------------------------------------------------ buyer side

    def meet(self, ref: TradeRef, meeting_point: tuple[float, float]) -> dict[str, Any]:
        """Buyer: authenticate the winner and be authenticated, then seal the point and access secret to it."""
        side = self.venues[ref.venue].buyer_side(ref, self.present_to)
        seller_did = did_for(side.seller, self.node.chain.chain_id)
        their_challenge = answer_field(self._get(side.seller_url, "/p2p/challenge"), "challenge", "/p2p/challenge")
        my_challenge = self.verifier.challenge()
        answer = self._post(
            side.seller_url,
            f"{ref.p2p}/handshake",
            {
                "presentation": self.present_to(their_challenge, seller_did),
                "challenge": my_challenge,
                **side.handshake,
            },
        )
        seller = self.verify(answer_field(answer, "presentation", f"{ref.p2p}/handshake"), side.seller)
        plaintext = json.dumps({"lat": meeting_point[0], "lon": meeting_point[1], "access_secret": side.secret_hex})
        sealed = seal(seller.seal_key, plaintext.encode(), ref.seal_id)
        self._post(side.seller_url, f"{ref.p2p}/point", {"sealed": "0x" + sealed.hex()})
        return {**ref.as_json(), "seller": seller.holder, "seller_verified": True, "point_sent": True}

    # ------------------------------------------------------------------ seller side

    def handshake(
        self, ref: TradeRef, presentation: Any, challenge: str, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Seller: verify the buyer of our trade, then answer its challenge."""
        venue = self.venues[ref.venue]
        buyer, kept = venue.seller_side(ref, extra or {})
        self.verify(presentation, buyer)
        venue.put(ref, "buyer_verified", kept)
        return {"presentation": self.present_to(challenge, did_for(buyer, self.node.chain.chain_id))}

    def receive_point(self, ref: TradeRef, sealed: bytes) -> dict[str, Any]:
        """Seller: open the sealed point and check the access secret against the buyer's commitment."""
        venue = self.venues[ref.venue]
        verified = venue.get(ref, "buyer_verified")
        if verified is None:
            raise NodeError("the buyer has not been verified for this trade", 403)
        try:
            content = json.loads(open_sealed(self.seal_key, sealed, ref.seal_id))
            secret = bytes.fromhex(content["access_secret"])
        except Exception:
            raise NodeError("the sealed meeting point could not be opened", 400) from None
        try:
            check_access(secret, venue.committed_access_hash(ref, verified))
        except CredentialError:
            raise NodeError("the access secret does not match the buyer's commitment", 403) from None
        venue.put(
            ref, "meeting", {"lat": content["lat"], "lon": content["lon"], "access_secret": content["access_secret"]}
        )
        return {"stored": True, "access_verified": True}

    def _get(self, base: str | None, path: str) -> Any:
        return self.node._peer("GET", base, path)

    def _post(self, base: str | None, path: str, payload: dict[str, Any]) -> Any:
        return self.node._peer("POST", base, path, payload)
