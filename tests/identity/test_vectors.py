"""The fixed credential and presentation in vectors/: verified by the code, checked by an independent EIP-712
implementation from their JSON alone, and broken by a change to any one of their values."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from tests.support.credentials import CHAIN_ID, NOW, REGISTRY, VALID_UNTIL
from tests.support.identity_vectors import HOLDER, ISSUER, SEAL_KEY, credential, presentation, read
from v2vchain.errors import InvalidInput
from v2vchain.identity.credentials import verify_vc
from v2vchain.identity.errors import CredentialError
from v2vchain.identity.presentations import open_envelope
from v2vchain.identity.suite import verify_document


def verify_presentation(vp: Any) -> None:
    """The checks a presentation must pass wherever it is verified: its own proof, then the credential inside."""
    signer, _, _ = verify_document(
        vp, primary="VerifiablePresentation", purpose="authentication", bad=CredentialError, forged=CredentialError
    )
    if signer != vp["holder"]:
        raise CredentialError("not signed by its holder")
    verify_vc(open_envelope(vp["verifiableCredential"]), now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)


def test_the_credential_vector_verifies() -> None:
    verified = verify_vc(read("credential.json"), now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)
    assert (verified.issuer, verified.vehicle, verified.valid_until) == (ISSUER.address, HOLDER.address, VALID_UNTIL)


def test_the_presentation_vector_verifies_and_envelopes_the_credential_vector() -> None:
    vp = read("presentation.json")
    verify_presentation(vp)
    assert open_envelope(vp["verifiableCredential"]) == read("credential.json")
    assert vp["sealKey"] == "0x" + SEAL_KEY.hex()


def test_the_code_issues_the_vectors_byte_for_byte() -> None:
    """A change of format is deliberate: rerun scripts/gen_identity_vectors.py and review the diff."""
    assert credential() == read("credential.json")
    assert presentation() == read("presentation.json")


def _recovered_independently(document: dict[str, Any]) -> str:
    """What a generic verifier does with the JSON alone: the document with the proof's options as `proof` is the
    message, `eip712` gives the rest of the typed data; eth-account hashes it from the full message."""
    proof = dict(document["proof"])
    value, carried = proof.pop("proofValue"), proof.pop("eip712")
    message = {**{key: v for key, v in document.items() if key != "proof"}, "proof": proof}
    typed = {**carried, "message": message}
    _assert_every_member_typed(message, carried["primaryType"], carried["types"])
    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=bytes.fromhex(value[2:])))


def _assert_every_member_typed(value: dict[str, Any], struct: str, types: dict[str, Any]) -> None:
    fields = {field["name"]: field["type"] for field in types[struct]}
    assert set(fields) == set(value), f"{struct} types {sorted(fields)} but the document has {sorted(value)}"
    for key, member in value.items():
        if isinstance(member, dict):
            _assert_every_member_typed(member, fields[key], types)


def test_eth_account_recovers_the_issuer_from_the_credential_json_alone() -> None:
    assert _recovered_independently(read("credential.json")) == ISSUER.address


def test_eth_account_recovers_the_holder_from_the_presentation_json_alone() -> None:
    assert _recovered_independently(read("presentation.json")) == HOLDER.address


def test_metamask_eth_sig_util_recovers_the_signers_from_the_vectors_json_alone() -> None:
    """A second EIP-712 implementation, in another language (the one Veramo verifies these proofs with)."""
    changed = read("credential.json")
    changed["credentialSubject"]["batteryCapacityWh"] += 1
    documents = [read("credential.json"), read("presentation.json"), changed]
    recovered = json.loads(
        subprocess.run(
            ["node", str(Path(__file__).parents[1] / "support" / "eip712_recover.js")],
            input=json.dumps(documents),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    assert recovered[:2] == [ISSUER.address.lower(), HOLDER.address.lower()]
    assert recovered[2] not in (ISSUER.address.lower(), HOLDER.address.lower())


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _objects(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from _objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _objects(value, (*path, index))


def _altered(value: Any) -> Any:
    """Another value of the same type, so the check must be on content, not on shape."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"


def _at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _tamperings(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every value changed, every member removed, a member added to every object: one change at a time."""
    for path in _leaves(document):
        changed = copy.deepcopy(document)
        _at(changed, path[:-1])[path[-1]] = _altered(_at(document, path))
        yield f"{path} altered", changed
        removed = copy.deepcopy(document)
        del _at(removed, path[:-1])[path[-1]]
        yield f"{path} removed", removed
    for path in _objects(document):
        added = copy.deepcopy(document)
        _at(added, path)["extra"] = "claim"
        yield f"member added to {path or 'the document'}", added


def _assert_every_tampering_fails(document: dict[str, Any], verify: Any) -> int:
    tried = 0
    for change, tampered in _tamperings(document):
        try:
            verify(tampered)
        except (CredentialError, InvalidInput):
            tried += 1
            continue
        except Exception as error:
            raise AssertionError(f"{change} raised {error!r}, not a typed error") from error
        raise AssertionError(f"{change} was accepted")
    return tried


def test_any_change_to_the_credential_vector_fails() -> None:
    tried = _assert_every_tampering_fails(
        read("credential.json"), lambda vc: verify_vc(vc, now=NOW, chain_id=CHAIN_ID, registry=REGISTRY)
    )
    assert tried > 100  # every claim, the status, the proof options and each entry of its eip712 member


def test_any_change_to_the_presentation_vector_fails() -> None:
    assert _assert_every_tampering_fails(read("presentation.json"), verify_presentation) > 60


@pytest.mark.parametrize("name", ["credential.json", "presentation.json"])
def test_eth_account_recovers_nobody_in_particular_from_a_changed_vector(name: str) -> None:
    document = read(name)
    document["proof"]["created"] = "2030-01-01T00:00:00Z"
    assert _recovered_independently(document) not in (ISSUER.address, HOLDER.address)
