"""Every custom error of every contract decodes to its name and arguments, from both providers' formats."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from v2vchain.chain.compiler import Build, compile_contracts
from v2vchain.chain.errors import ContractRevert, TransactionFailed
from v2vchain.chain.reverts import decode_revert, register_abi, revert_data

PRODUCTION = ("EnergyToken", "Registry", "Market", "Clearing")

SAMPLE = {
    "address": "0x" + "11" * 20,
    "uint256": 7,
    "uint8": 3,
    "uint16": 4,
    "uint32": 6,
    "uint40": 5,
    "uint64": 8,
    "uint96": 9,
    "bytes32": b"\x01" * 32,
    "bool": True,
    "string": "x",
}


def _errors(build: Build) -> list[tuple[str, dict]]:
    """Each distinct custom error declared by a production contract (or a base, interface or library it uses: the
    OpenZeppelin ones too)."""
    seen: dict[str, dict] = {}
    for name in PRODUCTION:
        for item in build[name].abi:
            if item["type"] == "error":
                seen[item["name"]] = item
    return sorted(seen.items())


def test_production_contracts_declare_the_errors_users_rely_on(build: Build) -> None:
    names = {name for name, _ in _errors(build)}
    assert {
        "BidAboveMax",
        "BidNotLower",
        "BiddingClosed",
        "SelfBid",
        "RelayPeriod",
        "ReceiptNotAboveConfirmation",
        "CredentialRevoked",
        "DidAlreadyBound",
        "FeeOnTransferToken",
        "InsufficientFreeBalance",
        "NonceFloorNotRaised",
        "ZeroAmount",
        "AmountTooLarge",
        "PenaltyRoundsToZero",
        # inherited from OpenZeppelin
        "ReentrancyGuardReentrantCall",
        "EnforcedPause",
        "ExpectedPause",
        "OwnableUnauthorizedAccount",
        "OwnableInvalidOwner",
        "SafeERC20FailedOperation",
        "ECDSAInvalidSignature",
        "ECDSAInvalidSignatureLength",
        "ECDSAInvalidSignatureS",
        "ERC20InsufficientBalance",
        "ERC20InsufficientAllowance",
    } <= names


def test_no_two_production_errors_share_a_selector_under_different_names(build: Build) -> None:
    """A selector decodes to one name only: two errors colliding would be reported as the wrong one."""
    by_selector: dict[bytes, str] = {}
    for name, item in _errors(build):
        selector = keccak(text=f"{name}({','.join(p['type'] for p in item['inputs'])})")[:4]
        assert by_selector.setdefault(selector, name) == name


ALL_ERRORS = _errors(compile_contracts())


@pytest.mark.parametrize(("name", "item"), ALL_ERRORS, ids=[name for name, _ in ALL_ERRORS])
def test_every_custom_error_decodes_with_its_arguments(build: Build, name: str, item: dict) -> None:
    for contract in PRODUCTION:
        register_abi(build[contract].abi)
    types = [p["type"] for p in item["inputs"]]
    values = [
        SAMPLE[t] if t != "uint8" or not p["internalType"].startswith("enum") else 2
        for t, p in zip(types, item["inputs"])
    ]
    data = keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, values)
    decoded = decode_revert(data, "action")
    assert decoded.name == name
    assert list(decoded.arguments.values())[: len(values)] == values
    assert name in str(decoded)


def test_no_two_errors_of_the_production_contracts_share_a_selector(build: Build) -> None:
    """Clearing and Market share Vault's errors (one definition each); no other pair may collide on 4 bytes."""
    seen: dict[bytes, str] = {}
    for contract in PRODUCTION:
        for item in build[contract].abi:
            if item["type"] != "error":
                continue
            signature = f"{item['name']}({','.join(p['type'] for p in item['inputs'])})"
            selector = keccak(text=signature)[:4]
            assert seen.setdefault(selector, signature) == signature, (selector.hex(), seen[selector], signature)


def test_the_clearings_errors_decode_by_name(build: Build) -> None:
    register_abi(build["Clearing"].abi)
    for name, types, values in [
        ("InvalidOrderSignature", ["uint256", "address", "address"], [3, "0x" + "22" * 20, "0x" + "00" * 20]),
        ("OrdersNotSorted", ["uint256"], [1]),
        ("ShortReceiptNotFromSeller", ["uint256", "uint64", "uint64"], [2, 10, 20]),
    ]:
        data = keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, values)
        assert decode_revert(data).name == name


def test_eth_tester_revert_string_is_parsed_back_to_bytes() -> None:
    exc = Exception("execution reverted: b'\\xa2\\xf41\\x00'")
    assert revert_data(exc) == b"\xa2\xf41\x00"


def test_web3_custom_error_data_attribute_is_used() -> None:
    class Fake(Exception):
        data = "0xdeadbeef"

    assert revert_data(Fake("boom")) == bytes.fromhex("deadbeef")


def test_unknown_selector_is_reported_as_a_failure_not_a_hex_blob_exception() -> None:
    with pytest.raises(TransactionFailed, match="unknown data"):
        decode_revert(b"\x00\x00\x00\x01", "x")


def test_error_string_reverts_decode_as_Error_with_the_message() -> None:
    data = keccak(text="Error(string)")[:4] + encode(["string"], ["nope"])
    decoded = decode_revert(data)
    assert isinstance(decoded, ContractRevert) and decoded.arguments == {"message": "nope"}
