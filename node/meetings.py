"""The meeting of two matched vehicles: mutual presentations bound to fresh challenges, then the exact meeting
point and the access secret sealed to the counterparty's key. Nothing here is sent to anyone but the counterparty.
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

    def verify(self, presentation: Any, expected_holder: str) -> VerifiedPresentation:
        try:
            verified = self.verifier.verify(presentation)
        except CredentialError as exc:
            raise NodeError(f"{type(exc).__name__}: {exc}", 401) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise NodeError(f"malformed presentation: {exc}", 400) from None
        if verified.holder != expected_holder:
            raise NodeError(f"presentation is by {verified.holder}, the counterparty is {expected_holder}", 403)
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

    def meet(self, request_id: int, meeting_point: tuple[float, float]) -> dict[str, Any]:
        """Buyer: authenticate the winner and be authenticated, then seal the point and access secret to it."""
        node = self.node
        record = node._own_request(request_id, "buyer")
        if record["status"] not in ("awarded",):
            raise NodeError(f"request {request_id} is {record['status']}: there is no winner to meet", 409)
        seller_url = record.get("seller_url")
        seller_did = did_for(record["seller"], node.chain.chain_id)
        their_challenge = self._get(seller_url, "/p2p/challenge")["challenge"]
        my_challenge = self.verifier.challenge()
        answer = self._post(
            seller_url,
            f"/p2p/meetings/{request_id}/handshake",
            {"presentation": self.present_to(their_challenge, seller_did), "challenge": my_challenge},
        )
        seller = self.verify(answer["presentation"], record["seller"])
        secret = node.store.secret(request_id)
        if secret is None:
            raise NodeError(f"the access secret of request {request_id} is missing", 500)
        plaintext = json.dumps({"lat": meeting_point[0], "lon": meeting_point[1], "access_secret": secret[1]})
        sealed = seal(seller.seal_key, plaintext.encode(), request_id)
        self._post(seller_url, f"/p2p/meetings/{request_id}/point", {"sealed": "0x" + sealed.hex()})
        return {"request_id": request_id, "seller": seller.holder, "seller_verified": True, "point_sent": True}

    # ------------------------------------------------------------------ seller side

    def handshake(self, request_id: int, presentation: Any, challenge: str) -> dict[str, Any]:
        """Seller: verify the buyer of our awarded request, then answer its challenge."""
        record = self.node._own_request(request_id, "seller")
        if record["status"] != "awarded" or record.get("seller") != self.node.address:
            raise NodeError(f"request {request_id} is not awarded to this vehicle", 409)
        self.verify(presentation, record["buyer"])
        self.node.store.put_inbox(request_id, "buyer_verified", {"ok": True})
        buyer_did = did_for(record["buyer"], self.node.chain.chain_id)
        return {"presentation": self.present_to(challenge, buyer_did)}

    def receive_point(self, request_id: int, sealed: bytes) -> dict[str, Any]:
        """Seller: open the sealed point and check the access secret against the buyer's on-chain commitment."""
        node = self.node
        if node.store.inbox(request_id, "buyer_verified") is None:
            raise NodeError("the buyer has not been verified for this request", 403)
        try:
            content = json.loads(open_sealed(self.seal_key, sealed, request_id))
            secret = bytes.fromhex(content["access_secret"])
        except Exception:
            raise NodeError("the sealed meeting point could not be opened", 400) from None
        committed = self._committed_access_hash(request_id)
        try:
            check_access(secret, committed)
        except CredentialError:
            raise NodeError("the access secret does not match the buyer's on-chain commitment", 403) from None
        node.store.put_inbox(
            request_id,
            "meeting",
            {"lat": content["lat"], "lon": content["lon"], "access_secret": content["access_secret"]},
        )
        return {"stored": True, "access_verified": True}

    def _committed_access_hash(self, request_id: int) -> bytes:
        system = self.node.system
        logs = system.market.contract.events.RequestOpened.get_logs(
            from_block=system.deployment.block, argument_filters={"requestId": request_id}
        )
        if not logs:
            raise NodeError(f"no RequestOpened event for request {request_id}", 404)
        return bytes(logs[0]["args"]["accessHash"])

    def _get(self, base: str | None, path: str) -> Any:
        return self.node._peer("GET", base, path)

    def _post(self, base: str | None, path: str, payload: dict[str, Any]) -> Any:
        return self.node._peer("POST", base, path, payload)
