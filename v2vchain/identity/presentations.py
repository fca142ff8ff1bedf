"""Presentations at the meeting: the holder signs, with the EthereumEip712Signature2021 suite, a document holding
the whole credential, its X25519 seal key, and in the proof a single-use challenge and the verifier's DID as domain,
so a presentation cannot be replayed, shown to anyone else, or given another credential or key. The verifier's
challenges are stateless.

The credential travels as a VC 2.0 EnvelopedVerifiableCredential (a data: URL of its JSON), so the presentation is
a flat document the suite's types cover, and the credential inside is verified byte for byte as the issuer signed it.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from v2vchain import boundedjson
from v2vchain.errors import InvalidInput
from v2vchain.protocol import eip712

from .contexts import CREDENTIAL_CONTEXT, VC_BASE_CONTEXT, check_context
from .credentials import VerifiedCredential, check_registry_facts, verify_vc
from .dates import iso, parse_date_time_stamp
from .did import canonical_did
from .errors import (
    ChallengeExpired,
    ForgedPresentation,
    InvalidDid,
    MalformedPresentation,
    ReplayedChallenge,
    SubjectMismatch,
    UnknownChallenge,
    VerifierBusy,
    WrongDeployment,
    WrongDomain,
)
from .proofs import bytes32_field, same_deployment
from .suite import proof_options, sign_document, verify_document

VP_TYPE = ["VerifiablePresentation"]
PRIMARY_TYPE = "VerifiablePresentation"
PRESENTATION_DOMAIN = ("V2V Presentation", "1")
ENVELOPE_TYPE = "EnvelopedVerifiableCredential"
ENVELOPE_PREFIX = "data:application/vc;base64,"
_MEMBERS = {"@context", "type", "holder", "verifiableCredential", "sealKey", "proof"}
_PROOF_MEMBERS = {
    "type",
    "created",
    "proofPurpose",
    "verificationMethod",
    "challenge",
    "domain",
    "proofValue",
    "eip712",
}
RegistryFacts = Callable[[str], "tuple[bool, bool, int]"]


@dataclass(frozen=True)
class VerifiedPresentation:
    holder: str
    credential: VerifiedCredential
    seal_key: bytes  # 32-byte X25519 public key of the holder


def present(
    holder: LocalAccount, vc: dict[str, Any], *, challenge: str, domain: str, seal_key: bytes, now: int
) -> dict[str, Any]:
    """The holder's presentation of `vc` to the verifier whose DID is `domain`, answering its `challenge`."""
    if len(seal_key) != 32:
        raise InvalidInput(f"the seal key is a 32-byte X25519 public key, got {len(seal_key)} bytes")
    bytes32_field(challenge, InvalidInput, "challenge")
    holder_did = canonical_did(vc["credentialSubject"]["id"])
    document = {
        "@context": CREDENTIAL_CONTEXT,
        "type": VP_TYPE,
        "holder": holder_did,
        "verifiableCredential": envelope(vc),
        "sealKey": "0x" + seal_key.hex(),
    }
    options = proof_options(holder_did, "authentication", iso(now), challenge=challenge, domain=domain)
    signed_domain = eip712.domain(PRESENTATION_DOMAIN, *_deployment_of(vc))
    return copy.deepcopy(sign_document(holder, document, options, signed_domain, PRIMARY_TYPE))


def envelope(vc: dict[str, Any]) -> dict[str, Any]:
    """A VC 2.0 EnvelopedVerifiableCredential: the credential's JSON in a base64 data: URL."""
    encoded = json.dumps(vc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {
        "@context": VC_BASE_CONTEXT,
        "id": ENVELOPE_PREFIX + base64.b64encode(encoded).decode(),
        "type": ENVELOPE_TYPE,
    }


def open_envelope(value: Any) -> Any:
    """The credential inside an EnvelopedVerifiableCredential, or MalformedPresentation."""
    url = value.get("id") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or set(value) != {"@context", "id", "type"}
        or (value["@context"], value["type"]) != (VC_BASE_CONTEXT, ENVELOPE_TYPE)
        or not isinstance(url, str)
        or not url.startswith(ENVELOPE_PREFIX)
    ):
        raise MalformedPresentation(f"verifiableCredential must be one {ENVELOPE_TYPE} with a {ENVELOPE_PREFIX} id")
    try:
        return boundedjson.loads(base64.b64decode(url.removeprefix(ENVELOPE_PREFIX), validate=True))
    except (binascii.Error, ValueError):
        raise MalformedPresentation(f"the {ENVELOPE_TYPE} does not hold a credential's JSON") from None


class Verifier:
    """One party's side of the meeting handshake: issues single-use challenges and verifies presentations.

    Challenges are stateless, so handing them out costs no memory however many are asked for: 5 bytes of issue
    time, 11 random bytes, and 16 bytes of HMAC-SHA256 under a key only this verifier holds. A challenge is spent
    only by a presentation that passed every check, so nobody without a registered credential can fill the spent
    set (junk answers to fresh challenges once made the verifier busy for everyone); it is kept until it would have
    expired anyway, at most `max_spent` in all and `max_spent_per_holder` for one vehicle, so one registered
    vehicle cannot fill it either.
    """

    MAX_SPENT = 10_000
    MAX_SPENT_PER_HOLDER = 100  # a vehicle meets or asks one node far fewer times within one challenge lifetime

    def __init__(
        self,
        did: str,
        *,
        chain_id: int,
        registry: str,
        registry_facts: RegistryFacts,
        challenge_ttl_s: int = 300,
        clock: Callable[[], float] = time.time,
        max_spent: int = MAX_SPENT,
        max_spent_per_holder: int = MAX_SPENT_PER_HOLDER,
    ) -> None:
        self.did = canonical_did(did)  # InvalidDid now, not at the first presentation
        self.chain_id = chain_id
        self.registry = registry
        self._registry_facts = registry_facts
        self._ttl = challenge_ttl_s
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._max_spent = max_spent
        self._max_per_holder = max_spent_per_holder
        self._spent: dict[str, tuple[int, str]] = {}  # challenge -> (issued at, holder); kept until it would expire
        self._per_holder: Counter[str] = Counter()
        self._lock = threading.Lock()

    def challenge(self) -> str:
        body = int(self._clock()).to_bytes(5, "big") + secrets.token_bytes(11)
        return "0x" + (body + self._tag(body)).hex()

    def _tag(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, "sha256").digest()[:16]

    def _issued_at(self, challenge: str) -> int | None:
        """When this verifier issued `challenge`, or None if it never did."""
        raw = bytes.fromhex(challenge[2:])
        body, tag = raw[:16], raw[16:]
        if not hmac.compare_digest(tag, self._tag(body)):
            return None
        return int.from_bytes(body[:5], "big")

    def verify(self, vp: Any) -> VerifiedPresentation:
        """Verify once: a challenge already spent, unknown or expired is refused before any signature is checked,
        and the challenge is spent when every check has passed (atomically, so of two copies only one passes)."""
        now = int(self._clock())
        self._forget_expired(now)
        proof = _proof_of(vp)
        challenge = proof["challenge"].lower()
        with self._lock:
            self._check_unspent(challenge, now)
        signer_did, signed_domain, _ = verify_document(
            vp, primary=PRIMARY_TYPE, purpose="authentication", bad=MalformedPresentation, forged=ForgedPresentation
        )
        check_context(vp.get("@context"))
        if set(vp) != _MEMBERS or vp["type"] != VP_TYPE or set(proof) != _PROOF_MEMBERS:
            raise MalformedPresentation(f"a presentation holds exactly {sorted(_MEMBERS)}, of type {VP_TYPE}")
        parse_date_time_stamp(proof["created"], MalformedPresentation)
        if _canonical_or_none(proof["domain"]) != self.did:
            raise WrongDomain(
                f"presentation was made for {proof['domain']!r}, not for {self.did!r}", domain=proof["domain"]
            )
        holder = _canonical_or_none(vp["holder"])
        if holder != canonical_did(signer_did):
            raise ForgedPresentation(f"the proof is by {signer_did}, not by the holder {vp['holder']!r}")
        vc = open_envelope(vp["verifiableCredential"])
        subject_claims = vc.get("credentialSubject") if isinstance(vc, dict) else None
        subject = subject_claims.get("id") if isinstance(subject_claims, dict) else None
        if not isinstance(subject, str) or holder != _canonical_or_none(subject):
            raise SubjectMismatch(f"holder {vp['holder']!r} is not the credential subject {subject!r}")
        credential = verify_vc(vc, now=now, chain_id=self.chain_id, registry=self.registry)
        if (signed_domain["name"], signed_domain["version"]) != PRESENTATION_DOMAIN:
            raise MalformedPresentation(f"the proof's EIP-712 domain must be {PRESENTATION_DOMAIN}")
        if not same_deployment(signed_domain, self.chain_id, self.registry):
            raise WrongDeployment(
                f"presentation signed for chain {signed_domain['chainId']} registry "
                f"{signed_domain['verifyingContract']}",
                signed_domain=signed_domain,
            )
        seal_key = bytes32_field(vp["sealKey"], MalformedPresentation, "sealKey")
        issuer_authorised, revoked, expiry = self._registry_facts(credential.vehicle)
        check_registry_facts(
            credential.vehicle,
            issuer_authorised=issuer_authorised,
            revoked=revoked,
            expiry=expiry,
            now=now,
            presented_expiry=credential.valid_until,
        )
        self._spend(challenge, credential.vehicle, now)
        return VerifiedPresentation(holder=credential.vehicle, credential=credential, seal_key=seal_key)

    def _spend(self, challenge: str, holder: str, now: int) -> None:
        with self._lock:
            issued_at = self._check_unspent(challenge, now)  # again: a copy may have been verified meanwhile
            if self._per_holder[holder] >= self._max_per_holder:
                raise VerifierBusy(
                    f"{holder} answered {self._max_per_holder} challenges within {self._ttl} s; try again later"
                )
            if len(self._spent) >= self._max_spent:
                raise VerifierBusy(f"{self._max_spent} challenges answered within {self._ttl} s; try again later")
            self._spent[challenge] = (issued_at, holder)
            self._per_holder[holder] += 1

    def _check_unspent(self, challenge: str, now: int) -> int:
        """When `challenge` was issued; ReplayedChallenge, UnknownChallenge or ChallengeExpired unless it is one to
        answer now."""
        if challenge in self._spent:
            raise ReplayedChallenge(f"challenge {challenge} was already used", challenge=challenge)
        issued_at = self._issued_at(challenge)
        if issued_at is None or issued_at > now:
            raise UnknownChallenge(f"challenge {challenge} was not issued by this verifier", challenge=challenge)
        if now - issued_at > self._ttl:  # expired: refused without being remembered, it can never pass again
            raise ChallengeExpired(
                f"challenge issued {now - issued_at} s ago; the limit is {self._ttl} s",
                challenge=challenge,
                age_s=now - issued_at,
            )
        return issued_at

    def _forget_expired(self, now: int) -> None:
        with self._lock:
            for challenge in [c for c, (issued, _) in self._spent.items() if now - issued > self._ttl]:
                _, holder = self._spent.pop(challenge)
                self._per_holder[holder] -= 1
                if not self._per_holder[holder]:
                    del self._per_holder[holder]


def _proof_of(vp: Any) -> dict[str, Any]:
    """The proof, once its challenge is a well-formed one to spend."""
    proof = vp.get("proof") if isinstance(vp, dict) else None
    if not isinstance(proof, dict):
        raise MalformedPresentation("not a VerifiablePresentation with one proof")
    bytes32_field(proof.get("challenge"), MalformedPresentation, "challenge")
    if not isinstance(proof.get("domain"), str) or not isinstance(vp.get("holder"), str):
        raise MalformedPresentation("proof.domain and holder must be strings")
    return proof


def _canonical_or_none(did: str) -> str | None:
    try:
        return canonical_did(did)
    except InvalidDid:
        return None


def _deployment_of(vc: dict[str, Any]) -> tuple[int, str]:
    """The chain and Registry the credential was issued for: the presentation is signed for the same."""
    try:
        domain = vc["proof"]["eip712"]["domain"]
        return int(domain["chainId"]), str(domain["verifyingContract"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("the credential has no EthereumEip712Signature2021 proof naming its deployment") from None
