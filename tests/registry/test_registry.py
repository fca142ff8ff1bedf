"""Registry: who may authorise issuers, register, revoke and hand over ownership (the admin), when, and with what."""

from __future__ import annotations

import dataclasses
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import keccak
from web3.types import TxReceipt

from tests.support.assertions import reverts
from tests.support.world import World
from v2vchain.contracts.registry import RegistryClient
from v2vchain.devnet import GAS_MONEY_WEI, add_issuer, credential_for
from v2vchain.identity.did import did_for, did_hash
from v2vchain.identity.registration import ROLE_BOTH, ROLE_BUYER, ROLE_SELLER, Credential, issue_credential
from v2vchain.protocol import eip712

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO_ADDRESS = "0x" + "00" * 20
ZERO_BYTES32 = b"\x00" * 32
UINT40_MAX = 2**40 - 1


# --- helpers -------------------------------------------------------------------------------------------------------


class addr(str):
    """An address that compares equal to the same address in any letter case (reverts decode lower-case)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.lower() == self.lower()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.lower())


def new_account(world: World) -> LocalAccount:
    account = Account.create()
    world.chain.fund(account.address, GAS_MONEY_WEI)
    return account


def registry_as(world: World, account: LocalAccount) -> RegistryClient:
    return world.system.as_(world.chain.sender(account)).registry


def funded_issuer(world: World, issuer: LocalAccount | None = None) -> tuple[LocalAccount, RegistryClient]:
    """An issuer (the world's, or a newly authorised one) with gas money, and the registry signing as it."""
    issuer = issuer or add_issuer(world.system)
    world.chain.fund(issuer.address, GAS_MONEY_WEI)
    return issuer, registry_as(world, issuer)


def credential(
    world: World,
    vehicle: str,
    *,
    issuer: LocalAccount | None = None,
    did: str | None = None,
    roles: int = ROLE_BOTH,
    expiry: int | None = None,
    chain_id: int | None = None,
    registry: str | None = None,
) -> Credential:
    chain_id = world.chain.chain_id if chain_id is None else chain_id
    return issue_credential(
        issuer or world.issuer,
        registry=registry or world.system.registry.address,
        chain_id=chain_id,
        vehicle=vehicle,
        did=did or did_for(vehicle, world.chain.chain_id),
        roles=roles,
        expiry=world.chain.now() + 86_400 if expiry is None else expiry,
    )


def submit(registry: RegistryClient, cred: Credential, *, did_hash_: bytes | None = None) -> TxReceipt:
    """register() without the client's input checks, returning the receipt (for events and raw field values)."""
    return registry._transact(
        "register",
        cred.vehicle,
        cred.did_hash if did_hash_ is None else did_hash_,
        cred.roles,
        cred.expiry,
        cred.signature,
    )


def require_active(registry: RegistryClient, vehicle: str, role: int) -> None:
    registry._call("requireActive", vehicle, role)


def record(world: World, vehicle: str, did: bytes | None = None) -> tuple[Any, ...]:
    """Everything the registry holds about a vehicle (and a DID), to show a revert changed nothing."""
    reg = world.system.registry
    did = did if did is not None else bytes(reg._call("didOf", vehicle))
    return reg.vehicle(vehicle), bytes(reg._call("didOf", vehicle)), reg._call("vehicleOfDid", did), did


def credential_domain(world: World) -> dict[str, Any]:
    return eip712.domain(eip712.REGISTRY_DOMAIN, world.chain.chain_id, world.system.registry.address)


def signer_on_chain_domain(world: World, cred: Credential) -> str:
    """Whom the registry will recover from cred's fields and signature under its own domain."""
    message = {"vehicle": cred.vehicle, "didHash": cred.did_hash, "roles": cred.roles, "expiry": cred.expiry}
    return eip712.recover(credential_domain(world), eip712.CREDENTIAL_TYPES, message, cred.signature)


def mine_at(world: World, ts: int) -> None:
    """Mine a block stamped exactly ts, so calls (which read the latest block) run at ts."""
    world.chain.set_next_timestamp(ts)
    world.chain.fund(Account.create().address, 1)
    assert world.chain.now() == ts


def split(signature: bytes) -> tuple[bytes, int, int]:
    return signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]


# --- addIssuer / removeIssuer --------------------------------------------------------------------------------------


def test_admin_adds_issuer_and_emits_IssuerAdded(world: World) -> None:
    issuer = Account.create()
    receipt = world.system.registry._transact("addIssuer", issuer.address)
    assert world.system.registry.is_issuer(issuer.address)
    (event,) = world.system.registry.events(receipt, "IssuerAdded")
    assert event["args"]["issuer"] == issuer.address


def test_add_issuer_by_non_owner_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    candidate = Account.create()
    with reverts("OwnableUnauthorizedAccount", account=addr(world.buyer.address)):
        world.buyer.system.registry.add_issuer(candidate.address)
    assert not world.system.registry.is_issuer(candidate.address)


def test_add_issuer_by_an_issuer_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    """Issuers cannot grow their own set: only the admin authorises."""
    _, as_issuer = funded_issuer(world, world.issuer)
    candidate = Account.create()
    with reverts("OwnableUnauthorizedAccount", account=addr(world.issuer.address)):
        as_issuer.add_issuer(candidate.address)
    assert not world.system.registry.is_issuer(candidate.address)


def test_add_zero_address_issuer_reverts_with_ZeroAddress(world: World) -> None:
    with reverts("ZeroAddress"):
        world.system.registry.add_issuer(ZERO_ADDRESS)
    assert not world.system.registry.is_issuer(ZERO_ADDRESS)


def test_adding_an_issuer_twice_reverts_with_IssuerAlreadyAuthorised(world: World) -> None:
    with reverts("IssuerAlreadyAuthorised", issuer=addr(world.issuer.address)):
        world.system.registry.add_issuer(world.issuer.address)
    assert world.system.registry.is_issuer(world.issuer.address)


def test_admin_removes_issuer_and_emits_IssuerRemoved(world: World) -> None:
    receipt = world.system.registry._transact("removeIssuer", world.issuer.address)
    assert not world.system.registry.is_issuer(world.issuer.address)
    (event,) = world.system.registry.events(receipt, "IssuerRemoved")
    assert event["args"]["issuer"] == world.issuer.address


def test_remove_issuer_by_non_owner_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    with reverts("OwnableUnauthorizedAccount", account=addr(world.issuer.address)):
        as_issuer.remove_issuer(world.issuer.address)
    assert world.system.registry.is_issuer(world.issuer.address)


def test_removing_an_unknown_issuer_reverts_with_IssuerNotAuthorised(world: World) -> None:
    stranger = Account.create()
    with reverts("IssuerNotAuthorised", issuer=addr(stranger.address)):
        world.system.registry.remove_issuer(stranger.address)


def test_removing_an_issuer_twice_reverts_with_IssuerNotAuthorised(world: World) -> None:
    world.system.registry.remove_issuer(world.issuer.address)
    with reverts("IssuerNotAuthorised", issuer=addr(world.issuer.address)):
        world.system.registry.remove_issuer(world.issuer.address)


def test_removing_an_issuer_makes_its_vehicles_inactive(world: World) -> None:
    registry = world.system.registry
    assert registry.is_active(world.buyer.address, ROLE_BUYER)
    registry.remove_issuer(world.issuer.address)
    assert not registry.is_active(world.buyer.address, ROLE_BUYER)
    assert not registry.is_active(world.sellers[0].address, ROLE_SELLER)
    with reverts("IssuerNotAuthorised", issuer=addr(world.issuer.address)):
        require_active(registry, world.buyer.address, ROLE_BUYER)


def test_removing_an_issuer_keeps_its_vehicle_records(world: World) -> None:
    """Removal suspends rather than deletes: the record, DID binding and revoked flag are untouched."""
    before = record(world, world.buyer.address)
    world.system.registry.remove_issuer(world.issuer.address)
    assert record(world, world.buyer.address) == before


def test_removing_an_issuer_leaves_other_issuers_vehicles_active(world: World) -> None:
    other = add_issuer(world.system)
    vehicle = new_account(world)
    submit(world.system.registry, credential(world, vehicle.address, issuer=other, roles=ROLE_BUYER))
    world.system.registry.remove_issuer(world.issuer.address)
    assert world.system.registry.is_active(vehicle.address, ROLE_BUYER)
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)


def test_re_adding_a_removed_issuer_restores_its_vehicles(world: World) -> None:
    registry = world.system.registry
    registry.remove_issuer(world.issuer.address)
    registry.add_issuer(world.issuer.address)
    assert registry.is_active(world.buyer.address, ROLE_BUYER)
    require_active(registry, world.buyer.address, ROLE_BUYER)
    require_active(registry, world.sellers[0].address, ROLE_SELLER)


def test_a_removed_issuers_vehicle_may_register_again_with_another_issuer(world: World) -> None:
    """Removing an issuer frees its vehicles' addresses and DIDs: a vehicle is not stranded with a dead credential."""
    registry = world.system.registry
    registry.remove_issuer(world.issuer.address)
    other = add_issuer(world.system)
    cred = credential(world, world.buyer.address, issuer=other, roles=ROLE_BUYER)  # the same DID (did_for)
    submit(registry, cred)
    assert registry.vehicle(world.buyer.address).issuer == other.address
    assert registry.is_active(world.buyer.address, ROLE_BUYER)


def test_a_vehicle_of_an_authorised_issuer_cannot_register_again_with_VehicleAlreadyRegistered(world: World) -> None:
    other = add_issuer(world.system)
    cred = credential(world, world.buyer.address, issuer=other, roles=ROLE_BUYER)
    with reverts("VehicleAlreadyRegistered", vehicle=addr(world.buyer.address)):
        submit(world.system.registry, cred)


def test_removed_issuers_vehicles_cannot_open_market_requests(world: World) -> None:
    """The market consults the registry on entry, so a suspended buyer moves no money."""
    world.system.registry.remove_issuer(world.issuer.address)
    before = world.ledger()
    with reverts("IssuerNotAuthorised", issuer=addr(world.issuer.address)):
        world.open_request()
    assert world.ledger() == before


def test_credential_from_removed_issuer_reverts_with_IssuerNotAuthorised(world: World) -> None:
    cred = credential(world, world.outsider.address)
    world.system.registry.remove_issuer(world.issuer.address)
    with reverts("IssuerNotAuthorised", issuer=addr(world.issuer.address)):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(world.outsider.address).issuer == ZERO_ADDRESS


# --- register: success ---------------------------------------------------------------------------------------------


def test_register_emits_VehicleRegistered_with_the_credentials_fields(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_SELLER)
    receipt = submit(world.system.registry, cred)
    (event,) = world.system.registry.events(receipt, "VehicleRegistered")
    assert dict(event["args"]) == {
        "vehicle": cred.vehicle,
        "didHash": cred.did_hash,
        "issuer": world.issuer.address,
        "roles": ROLE_SELLER,
        "expiry": cred.expiry,
    }


def test_register_stores_the_vehicle_record_and_binds_the_did_both_ways(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_SELLER)
    world.system.registry.register(cred)
    rec, did_of, vehicle_of_did, _ = record(world, cred.vehicle)
    assert (rec.issuer, rec.expiry, rec.roles, rec.revoked) == (world.issuer.address, cred.expiry, ROLE_SELLER, False)
    assert did_of == cred.did_hash
    assert vehicle_of_did == cred.vehicle


def test_registered_vehicle_is_active_in_exactly_its_roles(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_SELLER)
    registry = world.system.registry
    assert not registry.is_active(cred.vehicle, ROLE_SELLER)
    registry.register(cred)
    assert registry.is_active(cred.vehicle, ROLE_SELLER)
    assert not registry.is_active(cred.vehicle, ROLE_BUYER)
    assert not registry.is_active(cred.vehicle, ROLE_BOTH)
    require_active(registry, cred.vehicle, ROLE_SELLER)


def test_anyone_may_submit_a_vehicles_credential(world: World) -> None:
    """The issuer's signature binds the vehicle, so a third party can relay it; the submitter gains nothing."""
    cred = credential(world, world.outsider.address, roles=ROLE_BUYER)
    relayer = world.sellers[0]
    relayer_before = world.system.registry.vehicle(relayer.address)
    relayer.system.registry.register(cred)
    assert world.system.registry.is_active(world.outsider.address, ROLE_BUYER)
    assert world.system.registry.vehicle(relayer.address) == relayer_before


def test_a_vehicle_may_register_for_both_roles(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_BOTH)
    world.system.registry.register(cred)
    assert world.system.registry.is_active(cred.vehicle, ROLE_BUYER)
    assert world.system.registry.is_active(cred.vehicle, ROLE_SELLER)
    assert world.system.registry.is_active(cred.vehicle, ROLE_BOTH)


def test_credential_expiring_one_second_after_the_block_is_accepted(world: World) -> None:
    ts = world.chain.now() + 100
    cred = credential(world, world.outsider.address, expiry=ts + 1)
    world.chain.set_next_timestamp(ts)
    world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).expiry == ts + 1


def test_credential_with_expiry_at_uint40_max_is_accepted(world: World) -> None:
    cred = credential(world, world.outsider.address, expiry=UINT40_MAX)
    world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).expiry == UINT40_MAX


# --- register: forged and tampered credentials ---------------------------------------------------------------------


def test_register_with_signature_from_unauthorised_issuer_reverts_with_IssuerNotAuthorised(world: World) -> None:
    forger = Account.create()
    cred = credential(world, world.outsider.address, issuer=forger)
    before = record(world, cred.vehicle, cred.did_hash)
    with reverts("IssuerNotAuthorised", issuer=addr(forger.address)):
        world.system.registry.register(cred)
    assert record(world, cred.vehicle, cred.did_hash) == before


def test_vehicle_self_signed_credential_reverts_with_IssuerNotAuthorised(world: World) -> None:
    cred = credential(world, world.outsider.address, issuer=world.outsider.account)
    with reverts("IssuerNotAuthorised", issuer=addr(world.outsider.address)):
        world.outsider.system.registry.register(cred)
    assert not world.system.registry.is_active(world.outsider.address, ROLE_BUYER)


def test_credential_signed_for_another_vehicle_reverts_with_IssuerNotAuthorised(world: World) -> None:
    """Moving a credential to the submitter's own address changes the digest, so it recovers to a stranger."""
    genuine = credential(world, new_account(world).address)
    stolen = dataclasses.replace(genuine, vehicle=world.outsider.address)
    expected = signer_on_chain_domain(world, stolen)
    assert expected != world.issuer.address
    before = record(world, stolen.vehicle, stolen.did_hash)
    with reverts("IssuerNotAuthorised", issuer=addr(expected)):
        world.outsider.system.registry.register(stolen)
    assert record(world, stolen.vehicle, stolen.did_hash) == before


def test_credential_with_altered_roles_reverts_with_IssuerNotAuthorised(world: World) -> None:
    genuine = credential(world, world.outsider.address, roles=ROLE_BUYER)
    upgraded = dataclasses.replace(genuine, roles=ROLE_BOTH)
    with reverts("IssuerNotAuthorised", issuer=addr(signer_on_chain_domain(world, upgraded))):
        world.system.registry.register(upgraded)
    assert world.system.registry.vehicle(world.outsider.address).issuer == ZERO_ADDRESS


def test_credential_with_altered_expiry_reverts_with_IssuerNotAuthorised(world: World) -> None:
    genuine = credential(world, world.outsider.address)
    extended = dataclasses.replace(genuine, expiry=genuine.expiry + 365 * 86_400)
    with reverts("IssuerNotAuthorised", issuer=addr(signer_on_chain_domain(world, extended))):
        world.system.registry.register(extended)
    assert world.system.registry.vehicle(world.outsider.address).issuer == ZERO_ADDRESS


def test_credential_with_altered_did_reverts_with_IssuerNotAuthorised(world: World) -> None:
    genuine = credential(world, world.outsider.address)
    renamed = dataclasses.replace(genuine, did="did:pkh:eip155:1:0x" + "11" * 20)
    assert renamed.did_hash != genuine.did_hash
    before = record(world, renamed.vehicle, renamed.did_hash)
    with reverts("IssuerNotAuthorised", issuer=addr(signer_on_chain_domain(world, renamed))):
        world.system.registry.register(renamed)
    assert record(world, renamed.vehicle, renamed.did_hash) == before


def test_credential_signed_for_another_chain_id_reverts_with_IssuerNotAuthorised(world: World) -> None:
    """Domain separation: the chain id is in the signed domain, so the signature recovers to someone else here."""
    foreign = credential(world, world.outsider.address, chain_id=world.chain.chain_id + 1)
    expected = signer_on_chain_domain(world, foreign)
    assert expected != world.issuer.address
    with reverts("IssuerNotAuthorised", issuer=addr(expected)):
        world.system.registry.register(foreign)
    assert world.system.registry.vehicle(world.outsider.address).issuer == ZERO_ADDRESS


def test_credential_signed_for_another_verifying_contract_reverts_with_IssuerNotAuthorised(world: World) -> None:
    foreign = credential(world, world.outsider.address, registry=world.market.address)
    expected = signer_on_chain_domain(world, foreign)
    assert expected != world.issuer.address
    with reverts("IssuerNotAuthorised", issuer=addr(expected)):
        world.system.registry.register(foreign)
    assert world.system.registry.vehicle(world.outsider.address).issuer == ZERO_ADDRESS


def test_malleable_high_s_signature_reverts_with_ECDSAInvalidSignatureS(world: World) -> None:
    """(r, n-s, v^1) is the twin of a valid signature that ecrecover alone would accept for the issuer."""
    cred = credential(world, world.outsider.address)
    r, s, v = split(cred.signature)
    high_s = SECP256K1_N - s
    twin = r + high_s.to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    digest = world.system.registry.credential_digest(cred)
    twin_signer = (
        keys.Signature(vrs=(twin[64] - 27, int.from_bytes(r, "big"), high_s))
        .recover_public_key_from_msg_hash(digest)
        .to_checksum_address()
    )
    assert twin_signer == world.issuer.address  # the twin really is a valid signature by the issuer
    with reverts("ECDSAInvalidSignatureS", s=high_s.to_bytes(32, "big")):
        world.system.registry.register(dataclasses.replace(cred, signature=twin))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_after_high_s_rejection_the_canonical_signature_still_registers(world: World) -> None:
    """The rejected twin must not mark the credential used."""
    cred = credential(world, world.outsider.address)
    r, s, v = split(cred.signature)
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    with reverts("ECDSAInvalidSignatureS"):
        world.system.registry.register(dataclasses.replace(cred, signature=twin))
    world.system.registry.register(cred)
    assert world.system.registry.is_active(cred.vehicle, ROLE_BOTH)


def test_signature_with_v_0_or_1_reverts_with_ECDSAInvalidSignature(world: World) -> None:
    """OpenZeppelin passes v to ecrecover as given: 0 or 1 recovers nobody."""
    cred = credential(world, world.outsider.address)
    r, s, v = split(cred.signature)
    with reverts("ECDSAInvalidSignature"):
        world.system.registry.register(dataclasses.replace(cred, signature=cred.signature[:64] + bytes([v - 27])))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_signature_with_v_29_reverts_with_ECDSAInvalidSignature(world: World) -> None:
    cred = credential(world, world.outsider.address)
    with reverts("ECDSAInvalidSignature"):
        world.system.registry.register(dataclasses.replace(cred, signature=cred.signature[:64] + bytes([29])))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_64_byte_signature_reverts_with_ECDSAInvalidSignatureLength(world: World) -> None:
    cred = credential(world, world.outsider.address)
    with reverts("ECDSAInvalidSignatureLength", length=64):
        world.system.registry.register(dataclasses.replace(cred, signature=cred.signature[:64]))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_66_byte_signature_reverts_with_ECDSAInvalidSignatureLength(world: World) -> None:
    cred = credential(world, world.outsider.address)
    with reverts("ECDSAInvalidSignatureLength", length=66):
        world.system.registry.register(dataclasses.replace(cred, signature=cred.signature + b"\x00"))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_empty_signature_reverts_with_ECDSAInvalidSignatureLength(world: World) -> None:
    cred = credential(world, world.outsider.address)
    with reverts("ECDSAInvalidSignatureLength", length=0):
        world.system.registry.register(dataclasses.replace(cred, signature=b""))


def test_signature_recovering_to_zero_address_reverts_with_ECDSAInvalidSignature(world: World) -> None:
    """r = 0 is no point on the curve: ecrecover yields address(0), which must never pass as an issuer."""
    cred = credential(world, world.outsider.address)
    bogus = b"\x00" * 32 + (1).to_bytes(32, "big") + bytes([27])
    with reverts("ECDSAInvalidSignature"):
        world.system.registry.register(dataclasses.replace(cred, signature=bogus))
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


# --- register: field validation ------------------------------------------------------------------------------------


def test_credential_expiring_at_the_block_timestamp_reverts_with_CredentialExpired(world: World) -> None:
    ts = world.chain.now() + 100
    cred = credential(world, world.outsider.address, expiry=ts)
    world.chain.set_next_timestamp(ts)
    with reverts("CredentialExpired", vehicle=addr(cred.vehicle), expiry=ts, nowTs=ts):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_credential_already_expired_reverts_with_CredentialExpired(world: World) -> None:
    cred = credential(world, world.outsider.address, expiry=world.chain.now() - 1)
    with reverts("CredentialExpired", vehicle=addr(cred.vehicle), expiry=cred.expiry):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_credential_issued_then_left_to_expire_before_submission_reverts_with_CredentialExpired(world: World) -> None:
    cred = credential(world, world.outsider.address)
    world.to(cred.expiry + 1)
    with reverts("CredentialExpired", vehicle=addr(cred.vehicle), expiry=cred.expiry):
        world.system.registry.register(cred)


def test_expiry_above_uint40_reverts_with_CredentialExpired_capped_at_uint40_max(world: World) -> None:
    """A uint64 expiry that the packed uint40 record could not hold is refused, not silently truncated."""
    cred = credential(world, world.outsider.address, expiry=UINT40_MAX + 1)
    with reverts("CredentialExpired", vehicle=addr(cred.vehicle), expiry=UINT40_MAX):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_zero_did_hash_reverts_with_ZeroDid(world: World) -> None:
    cred = credential(world, world.outsider.address)
    with reverts("ZeroDid"):
        submit(world.system.registry, cred, did_hash_=ZERO_BYTES32)
    assert world.system.registry._call("vehicleOfDid", ZERO_BYTES32) == ZERO_ADDRESS


def test_zero_vehicle_address_reverts_with_ZeroAddress(world: World) -> None:
    cred = credential(world, ZERO_ADDRESS)
    with reverts("ZeroAddress"):
        world.system.registry.register(cred)


def test_roles_zero_reverts_with_NoRoles(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=0)
    with reverts("NoRoles"):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_roles_four_reverts_with_UnknownRoles(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=4)
    with reverts("UnknownRoles", roles=4):
        world.system.registry.register(cred)
    assert world.system.registry.vehicle(cred.vehicle).issuer == ZERO_ADDRESS


def test_roles_with_a_known_and_an_unknown_bit_reverts_with_UnknownRoles(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_BUYER | 0x80)
    with reverts("UnknownRoles", roles=0x81):
        world.system.registry.register(cred)


# --- register: replay, double registration and Sybil --------------------------------------------------------------


def test_registering_an_actively_registered_vehicle_reverts_with_VehicleAlreadyRegistered(world: World) -> None:
    cred = credential_for(world.system, world.issuer, world.buyer.account, ROLE_BOTH, lifetime_s=2 * 365 * 86_400)
    before = record(world, world.buyer.address)
    with reverts("VehicleAlreadyRegistered", vehicle=addr(world.buyer.address)):
        world.system.registry.register(cred)
    assert record(world, world.buyer.address) == before


def test_another_issuer_cannot_re_register_an_active_vehicle(world: World) -> None:
    other = add_issuer(world.system)
    cred = credential(world, world.buyer.address, issuer=other, roles=ROLE_BOTH)
    before = record(world, world.buyer.address)
    with reverts("VehicleAlreadyRegistered", vehicle=addr(world.buyer.address)):
        world.system.registry.register(cred)
    assert record(world, world.buyer.address) == before


def test_resubmitting_the_same_credential_while_active_reverts_with_CredentialAlreadyUsed(world: World) -> None:
    cred = world.buyer.credential
    digest = world.system.registry.credential_digest(cred)
    with reverts("CredentialAlreadyUsed", digest=digest):
        world.system.registry.register(cred)


def test_replaying_a_credential_after_revocation_reverts_with_CredentialAlreadyUsed(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    before = record(world, world.buyer.address, world.buyer.credential.did_hash)
    digest = world.system.registry.credential_digest(world.buyer.credential)
    with reverts("CredentialAlreadyUsed", digest=digest):
        world.buyer.system.registry.register(world.buyer.credential)
    assert record(world, world.buyer.address, world.buyer.credential.did_hash) == before
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)


def test_registering_a_did_bound_to_another_active_vehicle_reverts_with_DidAlreadyBound(world: World) -> None:
    """Sybil: one DID, one address at a time, even with a genuine credential from the issuer."""
    buyer_did = world.buyer.credential.did
    cred = credential(world, world.outsider.address, did=buyer_did)
    before_outsider = record(world, world.outsider.address)
    before_buyer = record(world, world.buyer.address)
    with reverts("DidAlreadyBound", didHash=did_hash(buyer_did), vehicle=addr(world.buyer.address)):
        world.system.registry.register(cred)
    assert record(world, world.outsider.address) == before_outsider
    assert record(world, world.buyer.address) == before_buyer


def test_did_bound_by_another_issuer_still_reverts_with_DidAlreadyBound(world: World) -> None:
    other = add_issuer(world.system)
    cred = credential(world, world.outsider.address, issuer=other, did=world.buyer.credential.did)
    with reverts("DidAlreadyBound", vehicle=addr(world.buyer.address)):
        world.system.registry.register(cred)


def test_did_may_move_to_a_new_address_after_the_first_is_revoked(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    buyer_did = world.buyer.credential.did
    cred = credential(world, world.outsider.address, did=buyer_did, roles=ROLE_BUYER)
    as_issuer.revoke(world.buyer.address)
    world.system.registry.register(cred)
    registry = world.system.registry
    assert registry._call("vehicleOfDid", did_hash(buyer_did)) == world.outsider.address
    assert bytes(registry._call("didOf", world.outsider.address)) == did_hash(buyer_did)
    assert bytes(registry._call("didOf", world.buyer.address)) == ZERO_BYTES32
    assert registry.is_active(world.outsider.address, ROLE_BUYER)


def test_did_may_move_to_a_new_address_after_the_first_expires(world: World) -> None:
    buyer_did = world.buyer.credential.did
    mine_at(world, world.buyer.credential.expiry)
    cred = credential(world, world.outsider.address, did=buyer_did, roles=ROLE_BUYER)
    world.system.registry.register(cred)
    registry = world.system.registry
    assert registry._call("vehicleOfDid", did_hash(buyer_did)) == world.outsider.address
    assert bytes(registry._call("didOf", world.buyer.address)) == ZERO_BYTES32


def test_expired_vehicle_may_re_register_with_a_new_credential(world: World) -> None:
    mine_at(world, world.buyer.credential.expiry)
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    cred = credential_for(world.system, world.issuer, world.buyer.account, ROLE_BUYER)
    world.system.registry.register(cred)
    assert world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    assert world.system.registry.vehicle(world.buyer.address).expiry == cred.expiry


def test_expired_vehicle_re_registering_under_a_new_did_releases_the_old_one(world: World) -> None:
    old = world.buyer.credential.did_hash
    mine_at(world, world.buyer.credential.expiry)
    cred = credential(world, world.buyer.address, did=f"did:pkh:eip155:1:{world.buyer.address}", roles=ROLE_BUYER)
    world.system.registry.register(cred)
    registry = world.system.registry
    assert registry._call("vehicleOfDid", old) == ZERO_ADDRESS
    assert registry._call("vehicleOfDid", cred.did_hash) == world.buyer.address
    assert bytes(registry._call("didOf", world.buyer.address)) == cred.did_hash


def test_revoking_an_expired_vehicle_whose_did_moved_on_keeps_the_new_holders_binding(world: World) -> None:
    """Once another address took the DID, revoking the old vehicle must not unbind the new holder."""
    _, as_issuer = funded_issuer(world, world.issuer)
    buyer_did = world.buyer.credential.did_hash
    mine_at(world, world.buyer.credential.expiry)
    world.system.registry.register(
        credential(world, world.outsider.address, did=world.buyer.credential.did, roles=ROLE_BUYER)
    )
    as_issuer.revoke(world.buyer.address)
    assert world.system.registry._call("vehicleOfDid", buyer_did) == world.outsider.address
    assert bytes(world.system.registry._call("didOf", world.outsider.address)) == buyer_did
    assert world.system.registry.is_active(world.outsider.address, ROLE_BUYER)


# --- revoke --------------------------------------------------------------------------------------------------------


def test_issuer_revokes_its_vehicle_and_emits_VehicleRevoked(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    receipt = as_issuer._transact("revoke", world.buyer.address)
    (event,) = as_issuer.events(receipt, "VehicleRevoked")
    assert dict(event["args"]) == {
        "vehicle": world.buyer.address,
        "didHash": world.buyer.credential.did_hash,
        "issuer": world.issuer.address,
    }
    assert world.system.registry.vehicle(world.buyer.address).revoked


def test_revocation_releases_the_did_in_both_directions(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    registry = world.system.registry
    assert bytes(registry._call("didOf", world.buyer.address)) == ZERO_BYTES32
    assert registry._call("vehicleOfDid", world.buyer.credential.did_hash) == ZERO_ADDRESS


def test_revoked_vehicle_is_inactive_and_requireActive_reverts_with_CredentialRevoked(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    with reverts("CredentialRevoked", vehicle=addr(world.buyer.address)):
        require_active(world.system.registry, world.buyer.address, ROLE_BUYER)


def test_revoked_buyer_cannot_open_a_market_request(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    before = world.ledger()
    with reverts("CredentialRevoked", vehicle=addr(world.buyer.address)):
        world.open_request()
    assert world.ledger() == before


def test_revoke_by_another_authorised_issuer_reverts_with_NotVehicleIssuer(world: World) -> None:
    other, as_other = funded_issuer(world)
    before = record(world, world.buyer.address)
    with reverts("NotVehicleIssuer", caller=addr(other.address), issuer=addr(world.issuer.address)):
        as_other.revoke(world.buyer.address)
    assert record(world, world.buyer.address) == before


def test_revoke_by_the_admin_reverts_with_NotVehicleIssuer(world: World) -> None:
    admin = world.system.registry.sender.address
    before = record(world, world.buyer.address)
    with reverts("NotVehicleIssuer", caller=addr(admin), issuer=addr(world.issuer.address)):
        world.system.registry.revoke(world.buyer.address)
    assert record(world, world.buyer.address) == before


def test_revoke_by_the_vehicle_itself_reverts_with_NotVehicleIssuer(world: World) -> None:
    before = record(world, world.buyer.address)
    with reverts("NotVehicleIssuer", caller=addr(world.buyer.address), issuer=addr(world.issuer.address)):
        world.buyer.system.registry.revoke(world.buyer.address)
    assert record(world, world.buyer.address) == before


def test_revoke_of_an_unregistered_vehicle_reverts_with_NotRegistered(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    with reverts("NotRegistered", vehicle=addr(world.outsider.address)):
        as_issuer.revoke(world.outsider.address)


def test_revoking_twice_reverts_with_CredentialRevoked(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    before = record(world, world.buyer.address, world.buyer.credential.did_hash)
    with reverts("CredentialRevoked", vehicle=addr(world.buyer.address)):
        as_issuer.revoke(world.buyer.address)
    assert record(world, world.buyer.address, world.buyer.credential.did_hash) == before


def test_revoked_vehicle_may_re_register_with_a_new_credential(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    fresh = credential_for(world.system, world.issuer, world.buyer.account, ROLE_BUYER, lifetime_s=30 * 86_400)
    assert fresh.expiry != world.buyer.credential.expiry
    world.buyer.system.registry.register(fresh)
    rec = world.system.registry.vehicle(world.buyer.address)
    assert (rec.revoked, rec.expiry) == (False, fresh.expiry)
    assert world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    assert world.system.registry._call("vehicleOfDid", fresh.did_hash) == world.buyer.address


def test_a_re_registered_vehicle_can_be_revoked_again_by_its_new_issuer(world: World) -> None:
    _, as_issuer = funded_issuer(world, world.issuer)
    as_issuer.revoke(world.buyer.address)
    other, as_other = funded_issuer(world)
    world.system.registry.register(credential(world, world.buyer.address, issuer=other, roles=ROLE_BUYER))
    with reverts("NotVehicleIssuer", caller=addr(world.issuer.address), issuer=addr(other.address)):
        as_issuer.revoke(world.buyer.address)
    as_other.revoke(world.buyer.address)
    assert world.system.registry.vehicle(world.buyer.address).revoked


# --- requireActive / isActive -------------------------------------------------------------------------------------


def test_requireActive_for_unregistered_vehicle_reverts_with_NotRegistered(world: World) -> None:
    assert not world.system.registry.is_active(world.outsider.address, ROLE_BUYER)
    with reverts("NotRegistered", vehicle=addr(world.outsider.address)):
        require_active(world.system.registry, world.outsider.address, ROLE_BUYER)


def test_requireActive_at_expiry_reverts_with_CredentialExpired(world: World) -> None:
    expiry = world.buyer.credential.expiry
    mine_at(world, expiry)
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    with reverts("CredentialExpired", vehicle=addr(world.buyer.address), expiry=expiry, nowTs=expiry):
        require_active(world.system.registry, world.buyer.address, ROLE_BUYER)


def test_vehicle_is_active_one_second_before_expiry(world: World) -> None:
    expiry = world.buyer.credential.expiry
    mine_at(world, expiry - 1)
    assert world.system.registry.is_active(world.buyer.address, ROLE_BUYER)
    require_active(world.system.registry, world.buyer.address, ROLE_BUYER)


def test_expired_buyer_cannot_open_a_market_request(world: World) -> None:
    world.to(world.buyer.credential.expiry + 1)
    before = world.ledger()
    with reverts("CredentialExpired", vehicle=addr(world.buyer.address), expiry=world.buyer.credential.expiry):
        world.open_request()
    assert world.ledger() == before


def test_world_to_expiry_makes_views_see_the_credential_expired(world: World) -> None:
    expiry = world.buyer.credential.expiry
    world.to(expiry)
    assert world.chain.now() == expiry
    assert not world.system.registry.is_active(world.buyer.address, ROLE_BUYER)


def test_requireActive_for_a_role_the_vehicle_lacks_reverts_with_MissingRole(world: World) -> None:
    """A buyer-only vehicle cannot act as a seller."""
    assert not world.system.registry.is_active(world.buyer.address, ROLE_SELLER)
    with reverts("MissingRole", vehicle=addr(world.buyer.address), roles=ROLE_BUYER, required=ROLE_SELLER):
        require_active(world.system.registry, world.buyer.address, ROLE_SELLER)


def test_requireActive_for_both_roles_of_a_single_role_vehicle_reverts_with_MissingRole(world: World) -> None:
    with reverts("MissingRole", roles=ROLE_SELLER, required=ROLE_BOTH):
        require_active(world.system.registry, world.sellers[0].address, ROLE_BOTH)


def test_a_buyer_only_vehicle_may_deposit_since_deposits_fund_payments_too(world: World) -> None:
    """The Vault asks for an active credential of any role; only bidding asks for the seller role."""
    world.buyer.system.market.deposit(1)
    assert world.market.free_of(world.buyer.address) == 1


def test_a_removed_issuers_vehicle_deposit_reverts_with_IssuerNotAuthorised(world: World) -> None:
    world.system.registry.remove_issuer(world.issuer.address)
    before = world.ledger()
    with reverts("IssuerNotAuthorised", issuer=addr(world.issuer.address)):
        world.sellers[0].system.market.deposit(1)
    assert world.ledger() == before


# --- Ownable2Step on the Registry ---------------------------------------------------------------------------------


def test_transfer_ownership_by_non_owner_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    with reverts("OwnableUnauthorizedAccount", account=addr(world.buyer.address)):
        world.buyer.system.registry._transact("transferOwnership", world.buyer.address)
    assert world.system.registry._call("pendingOwner") == ZERO_ADDRESS


def test_transfer_ownership_only_nominates_until_accepted(world: World) -> None:
    nominee = new_account(world)
    admin = world.system.registry.sender.address
    receipt = world.system.registry._transact("transferOwnership", nominee.address)
    (started,) = world.system.registry.events(receipt, "OwnershipTransferStarted")
    assert (started["args"]["previousOwner"], started["args"]["newOwner"]) == (admin, nominee.address)
    assert world.system.registry._call("pendingOwner") == nominee.address
    assert world.system.registry._call("owner") == admin
    with reverts("OwnableUnauthorizedAccount", account=addr(nominee.address)):
        registry_as(world, nominee).add_issuer(Account.create().address)


def test_accept_ownership_by_someone_other_than_the_pending_owner_reverts_with_OwnableUnauthorizedAccount(
    world: World,
) -> None:
    nominee = new_account(world)
    world.system.registry._transact("transferOwnership", nominee.address)
    with reverts("OwnableUnauthorizedAccount", account=addr(world.buyer.address)):
        world.buyer.system.registry._transact("acceptOwnership")
    assert world.system.registry._call("pendingOwner") == nominee.address


def test_accept_ownership_with_no_transfer_pending_reverts_with_OwnableUnauthorizedAccount(world: World) -> None:
    admin = world.system.registry.sender.address
    with reverts("OwnableUnauthorizedAccount", account=addr(admin)):
        world.system.registry._transact("acceptOwnership")


def test_accepted_owner_takes_over_and_the_old_owner_is_refused(world: World) -> None:
    nominee = new_account(world)
    old = world.system.registry
    old._transact("transferOwnership", nominee.address)
    new = registry_as(world, nominee)
    new._transact("acceptOwnership")
    assert old._call("owner") == nominee.address
    assert old._call("pendingOwner") == ZERO_ADDRESS
    with reverts("OwnableUnauthorizedAccount", account=addr(old.sender.address)):
        old.remove_issuer(world.issuer.address)
    assert old.is_issuer(world.issuer.address)
    new.remove_issuer(world.issuer.address)
    assert not old.is_issuer(world.issuer.address)


def test_a_new_nomination_replaces_the_pending_owner(world: World) -> None:
    first, second = new_account(world), new_account(world)
    world.system.registry._transact("transferOwnership", first.address)
    world.system.registry._transact("transferOwnership", second.address)
    with reverts("OwnableUnauthorizedAccount", account=addr(first.address)):
        registry_as(world, first)._transact("acceptOwnership")


def test_the_market_hands_over_ownership_in_two_steps_too(world: World) -> None:
    nominee = new_account(world)
    world.market._transact("transferOwnership", nominee.address)
    market = world.market.connect(world.chain.sender(nominee))
    market._transact("acceptOwnership")
    assert world.market._call("owner") == nominee.address
    with reverts("OwnableUnauthorizedAccount", account=addr(world.system.deployment.admin)):
        world.market.pause()
    market.pause()
    assert world.market.paused()


# --- EIP-712: the Python copy against the contracts -------------------------------------------------------------


def test_credential_type_string_hashes_to_the_contracts_CREDENTIAL_TYPEHASH(world: World) -> None:
    python = keccak(text=eip712.type_string(eip712.CREDENTIAL_TYPES))
    assert python == bytes(world.system.registry._call("CREDENTIAL_TYPEHASH"))


def test_receipt_type_string_hashes_to_the_markets_RECEIPT_TYPEHASH(world: World) -> None:
    python = keccak(text=eip712.type_string(eip712.RECEIPT_TYPES))
    assert python == bytes(world.market._call("RECEIPT_TYPEHASH"))


def test_registry_domain_separator_matches_the_python_domain(world: World) -> None:
    encoded = encode_typed_data(
        domain_data=credential_domain(world),
        message_types=eip712.CREDENTIAL_TYPES,
        message_data={"vehicle": ZERO_ADDRESS, "didHash": ZERO_BYTES32, "roles": 0, "expiry": 0},
    )
    assert encoded.header == bytes(world.system.registry._call("domainSeparator"))


def test_python_credential_digest_equals_the_contracts_credentialDigest(world: World) -> None:
    cred = credential(world, world.outsider.address, roles=ROLE_SELLER, expiry=1_234_567_890)
    message = {"vehicle": cred.vehicle, "didHash": cred.did_hash, "roles": cred.roles, "expiry": cred.expiry}
    encoded = encode_typed_data(
        domain_data=credential_domain(world), message_types=eip712.CREDENTIAL_TYPES, message_data=message
    )
    python = keccak(b"\x19" + encoded.version + encoded.header + encoded.body)
    assert python == world.system.registry.credential_digest(cred)
    assert Account._recover_hash(python, signature=cred.signature) == world.issuer.address


def test_market_domain_separator_matches_the_python_domain(world: World) -> None:
    domain = eip712.domain(eip712.MARKET_DOMAIN, world.chain.chain_id, world.market.address)
    encoded = encode_typed_data(
        domain_data=domain,
        message_types=eip712.RECEIPT_TYPES,
        message_data={"requestId": 0, "seller": ZERO_ADDRESS, "deliveredWh": 0},
    )
    assert encoded.header == bytes(world.market._call("domainSeparator"))


def test_python_receipt_digest_equals_the_markets_receiptDigest(world: World) -> None:
    request_id, seller, delivered = 7, world.sellers[1].address, 9_876
    domain = eip712.domain(eip712.MARKET_DOMAIN, world.chain.chain_id, world.market.address)
    encoded = encode_typed_data(
        domain_data=domain,
        message_types=eip712.RECEIPT_TYPES,
        message_data={"requestId": request_id, "seller": seller, "deliveredWh": delivered},
    )
    python = keccak(b"\x19" + encoded.version + encoded.header + encoded.body)
    assert python == bytes(world.market._call("receiptDigest", request_id, seller, delivered))
    signature = world.market.sign_receipt(
        world.buyer.account, request_id=request_id, seller=seller, delivered_wh=delivered
    )
    assert Account._recover_hash(python, signature=signature) == world.buyer.address
