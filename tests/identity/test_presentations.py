"""The meeting handshake: presentations bound to a single-use challenge and the verifier's DID."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY, VALID_UNTIL, make_vc
from v2vchain.errors import InvalidInput
from v2vchain.identity.did import did_for
from v2vchain.identity.errors import (
    ChallengeExpired,
    CredentialError,
    CredentialExpired,
    CredentialRevoked,
    CredentialSuperseded,
    ForgedPresentation,
    IssuerNotAuthorised,
    MalformedPresentation,
    NotRegistered,
    ReplayedChallenge,
    SubjectMismatch,
    UnknownChallenge,
    VerifierBusy,
    WrongDeployment,
    WrongDomain,
)
from v2vchain.identity.presentations import Verifier, open_envelope, present
from v2vchain.identity.suite import proof_options, sign_document

SEAL_KEY = bytes(range(32))
REGISTERED = (True, False, VALID_UNTIL)  # issuer authorised, not revoked, registered expiry


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def make_verifier(facts: tuple[bool, bool, int] = REGISTERED, clock: Clock | None = None, **kw: Any) -> Verifier:
    did = did_for(Account.from_key(b"\x55" * 32).address, CHAIN_ID)
    return Verifier(
        did, chain_id=CHAIN_ID, registry=REGISTRY, registry_facts=lambda vehicle: facts, clock=clock or Clock(), **kw
    )


def answer(verifier: Verifier, holder: LocalAccount, vc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    arguments = dict(challenge=verifier.challenge(), domain=verifier.did, seal_key=SEAL_KEY, now=NOW)
    arguments.update(kw)
    return present(holder, vc, **arguments)


def test_genuine_presentation_is_accepted_with_the_holder_and_its_seal_key(
    vc: dict[str, Any], vehicle: LocalAccount
) -> None:
    verifier = make_verifier()
    result = verifier.verify(answer(verifier, vehicle, vc))
    assert result.holder == vehicle.address
    assert result.seal_key == SEAL_KEY
    assert result.credential.max_v2v_power_w == 30_000


def test_a_vc_1_1_credential_is_presented_and_verified_like_a_2_0_one(
    issuer: LocalAccount, vehicle: LocalAccount
) -> None:
    verifier = make_verifier()
    result = verifier.verify(answer(verifier, vehicle, make_vc(issuer, vehicle, data_model="1.1")))
    assert (result.holder, result.credential.valid_until) == (vehicle.address, VALID_UNTIL)


def test_presentation_signed_by_another_key_is_forged(vc: dict[str, Any], stranger: LocalAccount) -> None:
    verifier = make_verifier()
    with pytest.raises(ForgedPresentation, match="recovers to") as info:
        verifier.verify(answer(verifier, stranger, vc))  # the victim's public credential, the thief's key
    assert info.value.values["signer"] == stranger.address


def test_presentation_by_someone_else_as_holder_is_a_subject_mismatch(
    vc: dict[str, Any], vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    verifier = make_verifier()
    vp = resigned(stranger, answer(verifier, vehicle, vc), lambda document: None)
    assert vp["holder"] == did_for(stranger.address, CHAIN_ID)
    with pytest.raises(SubjectMismatch):
        verifier.verify(vp)


def test_swapped_seal_key_breaks_the_signature(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    """A relay cannot substitute its own key to read the meeting point."""
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc)
    vp["sealKey"] = "0x" + "ee" * 32
    with pytest.raises(ForgedPresentation):
        verifier.verify(vp)


def test_replayed_challenge_is_rejected(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc)
    verifier.verify(vp)
    with pytest.raises(ReplayedChallenge, match="already used"):
        verifier.verify(vp)


def test_a_failed_attempt_leaves_the_challenge_to_its_genuine_answer_which_spends_it(
    vc: dict[str, Any], vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    verifier = make_verifier()
    challenge = verifier.challenge()
    with pytest.raises(ForgedPresentation):
        verifier.verify(answer(verifier, stranger, vc, challenge=challenge))
    genuine = answer(verifier, vehicle, vc, challenge=challenge)
    verifier.verify(genuine)
    with pytest.raises(ReplayedChallenge):
        verifier.verify(genuine)


def test_unknown_challenge_is_rejected(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    with pytest.raises(UnknownChallenge):
        verifier.verify(answer(verifier, vehicle, vc, challenge="0x" + "ab" * 32))


def test_challenge_of_another_verifier_is_unknown(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    first, second = make_verifier(), make_verifier()
    with pytest.raises(UnknownChallenge):
        second.verify(answer(first, vehicle, vc))


def test_expired_challenge_is_rejected(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    clock = Clock()
    verifier = make_verifier(clock=clock, challenge_ttl_s=60)
    vp = answer(verifier, vehicle, vc)
    clock.now += 61
    with pytest.raises(ChallengeExpired) as info:
        verifier.verify(vp)
    assert info.value.values["age_s"] == 61


def test_presentation_made_for_another_verifier_is_wrong_domain(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc, domain=did_for("0x" + "66" * 20, CHAIN_ID))
    with pytest.raises(WrongDomain):
        verifier.verify(vp)


def test_altered_domain_breaks_the_signature(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc, domain=did_for("0x" + "66" * 20, CHAIN_ID))
    vp["proof"]["domain"] = verifier.did
    with pytest.raises(ForgedPresentation):
        verifier.verify(vp)


def test_credential_for_another_registry_is_rejected(issuer: LocalAccount, vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    foreign = make_vc(issuer, vehicle, registry="0x" + "99" * 20)
    with pytest.raises(WrongDeployment):
        verifier.verify(answer(verifier, vehicle, foreign))


@pytest.mark.parametrize(
    ("facts", "error"),
    [
        ((True, True, VALID_UNTIL), CredentialRevoked),
        ((False, False, VALID_UNTIL), IssuerNotAuthorised),
        ((True, False, 0), NotRegistered),
        ((True, False, NOW), CredentialExpired),
        ((True, False, VALID_UNTIL + 1), CredentialSuperseded),
    ],
    ids=["revoked", "issuer removed", "not registered", "registration expired", "superseded"],
)
def test_registry_facts_reject(
    vc: dict[str, Any], vehicle: LocalAccount, facts: tuple[bool, bool, int], error: type[CredentialError]
) -> None:
    verifier = make_verifier(facts)
    with pytest.raises(error, match=vehicle.address):
        verifier.verify(answer(verifier, vehicle, vc))


def test_registry_facts_are_asked_for_the_subject(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    asked: list[str] = []
    verifier = Verifier(
        did_for("0x" + "55" * 20, CHAIN_ID),
        chain_id=CHAIN_ID,
        registry=REGISTRY,
        registry_facts=lambda v: asked.append(v) or REGISTERED,
        clock=Clock(),
    )
    verifier.verify(answer(verifier, vehicle, vc))
    assert asked == [vehicle.address]


@pytest.mark.parametrize("field", ["challenge", "domain"])
def test_presentation_missing_a_proof_field_is_malformed(vc: dict[str, Any], vehicle: LocalAccount, field: str) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc)
    del vp["proof"][field]
    with pytest.raises(MalformedPresentation):
        verifier.verify(vp)


def test_presentation_with_two_credentials_is_malformed(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc)
    envelope = vp["verifiableCredential"]
    vp = resigned(
        vehicle, vp, lambda document: document.update(verifiableCredential={"first": envelope, "second": envelope})
    )
    with pytest.raises(MalformedPresentation):
        verifier.verify(vp)


def test_a_presentation_without_its_seal_key_is_forged(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc)
    del vp["sealKey"]
    with pytest.raises(ForgedPresentation):
        verifier.verify(vp)


def test_an_envelope_of_another_media_type_is_malformed(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = resigned(
        vehicle,
        answer(verifier, vehicle, vc),
        lambda document: document["verifiableCredential"].update(id="data:application/vc+jwt,eyJhbGciOiJub25lIn0"),
    )
    with pytest.raises(MalformedPresentation, match="EnvelopedVerifiableCredential"):
        verifier.verify(vp)


def test_the_enveloped_credential_is_the_issuers_json(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    vp = answer(make_verifier(), vehicle, vc)
    assert vp["verifiableCredential"]["type"] == "EnvelopedVerifiableCredential"
    assert open_envelope(vp["verifiableCredential"]) == vc


def test_a_verifier_did_spelled_in_lowercase_is_the_same_domain(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    vp = answer(verifier, vehicle, vc, domain=verifier.did.lower())
    assert verifier.verify(vp).holder == vehicle.address


def resigned(holder: LocalAccount, vp: dict[str, Any], mutate: Any) -> dict[str, Any]:
    """`vp` changed by `mutate`, signed again by `holder` as its holder with the same proof options."""
    document = copy.deepcopy({key: value for key, value in vp.items() if key != "proof"})
    holder_did = did_for(holder.address, CHAIN_ID)
    document["holder"] = holder_did
    mutate(document)
    options = proof_options(
        holder_did,
        "authentication",
        vp["proof"]["created"],
        challenge=vp["proof"]["challenge"],
        domain=vp["proof"]["domain"],
    )
    return sign_document(holder, document, options, vp["proof"]["eip712"]["domain"], "VerifiablePresentation")


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, i))]
    return [path]


def _altered(value: Any) -> Any:
    """A value of the same type that differs, so the check must be on content, not on shape."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"


def test_any_altered_value_is_rejected_with_a_typed_error(
    vc: dict[str, Any], vehicle: LocalAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change any single value anywhere in a genuine presentation: it must fail, and only with our errors."""
    monkeypatch.setattr(
        "v2vchain.identity.presentations.secrets.token_bytes", lambda n: b"\x07" * n
    )  # one fixed challenge
    template = answer(make_verifier(), vehicle, vc)
    genuine = make_verifier()
    genuine.challenge()
    genuine.verify(copy.deepcopy(template))
    for path in _leaves(template):
        parent = template
        for key in path[:-1]:
            parent = parent[key]
        for replacement in (None, _altered(parent[path[-1]])):
            vp = copy.deepcopy(template)
            target = vp
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = replacement
            verifier = make_verifier()
            verifier.challenge()
            try:
                verifier.verify(vp)
            except (CredentialError, InvalidInput):
                continue
            except Exception as error:
                raise AssertionError(f"{path} = {replacement!r} raised {error!r}") from error
            raise AssertionError(f"{path} = {replacement!r} was accepted")


def test_challenges_are_stateless_so_asking_for_many_holds_no_memory(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    """Issue 14, item 12: 100,000 challenges handed out cost the verifier nothing; each still verifies once."""
    verifier = make_verifier()
    issued = [verifier.challenge() for _ in range(100_000)]
    assert len(set(issued)) == len(issued)
    assert vars(verifier).get("_pending") is None and verifier._spent == {}
    verifier.verify(answer(verifier, vehicle, vc, challenge=issued[12_345]))
    assert len(verifier._spent) == 1


def test_a_forged_challenge_tag_is_unknown(vc: dict[str, Any], vehicle: LocalAccount) -> None:
    verifier = make_verifier()
    genuine = verifier.challenge()
    forged = genuine[:-2] + ("00" if genuine[-2:] != "00" else "01")
    with pytest.raises(UnknownChallenge):
        verifier.verify(answer(verifier, vehicle, vc, challenge=forged))


def test_spent_challenges_are_bounded_and_forgotten_after_expiry(
    issuer: LocalAccount, vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    clock = Clock()
    verifier = make_verifier(clock=clock, challenge_ttl_s=60, max_spent=3, max_spent_per_holder=2)
    for holder in (vehicle, vehicle, stranger):
        verifier.verify(answer(verifier, holder, make_vc(issuer, holder)))
    third = Account.from_key(b"\x44" * 32)
    with pytest.raises(VerifierBusy):
        verifier.verify(answer(verifier, third, make_vc(issuer, third)))
    clock.now += 61
    verifier.verify(answer(verifier, third, make_vc(issuer, third)))  # the spent ones expired, and were forgotten
    assert len(verifier._spent) == 1


def test_forged_answers_to_fresh_challenges_never_make_the_verifier_busy(
    vc: dict[str, Any], vehicle: LocalAccount, stranger: LocalAccount
) -> None:
    """Redteam: anyone may ask for challenges; answering each with junk once spent them, so max_spent junk answers
    (10,000 HTTP calls every 5 minutes, no credential needed) refused every genuine meeting."""
    verifier = make_verifier(max_spent=3)
    for _ in range(3):
        with pytest.raises(ForgedPresentation):
            verifier.verify(answer(verifier, stranger, vc))
    verifier.verify(answer(verifier, vehicle, vc))


def test_one_vehicle_cannot_fill_the_spent_challenges_alone(issuer: LocalAccount, vehicle: LocalAccount) -> None:
    verifier = make_verifier(max_spent=10, max_spent_per_holder=2)
    own = make_vc(issuer, vehicle)
    for _ in range(2):
        verifier.verify(answer(verifier, vehicle, own))
    with pytest.raises(VerifierBusy, match="answered 2 challenges"):
        verifier.verify(answer(verifier, vehicle, own))
    other = Account.from_key(b"\x44" * 32)
    verifier.verify(answer(verifier, other, make_vc(issuer, other)))
