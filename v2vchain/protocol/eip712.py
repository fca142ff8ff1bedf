"""The EIP-712 domains and types the contracts verify: the one Python copy of each, tested against the Solidity type
hashes and the deployed contracts' eip712Domain() (tests/chain/test_protocol_mirror.py)."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .recover import recover_typed
from .recover import type_string as type_string  # defined beside the hasher that uses it; named here too

REGISTRY_DOMAIN = ("V2V Registry", "1")
MARKET_DOMAIN = ("V2V Market", "1")
CLEARING_DOMAIN = ("V2V Clearing", "1")

CREDENTIAL_TYPES = {
    "Credential": [
        {"name": "vehicle", "type": "address"},
        {"name": "didHash", "type": "bytes32"},
        {"name": "roles", "type": "uint8"},
        {"name": "expiry", "type": "uint64"},
    ]
}
BID_TYPES = {
    "Bid": [
        {"name": "requestId", "type": "uint256"},
        {"name": "seller", "type": "address"},
        {"name": "pricePerWh", "type": "uint96"},
        {"name": "energyWh", "type": "uint64"},
        {"name": "nonce", "type": "uint64"},
        {"name": "expiry", "type": "uint40"},
    ]
}
RECEIPT_TYPES = {
    "MeterReceipt": [
        {"name": "requestId", "type": "uint256"},
        {"name": "seller", "type": "address"},
        {"name": "deliveredWh", "type": "uint64"},
    ]
}
ORDER_TYPES = {
    "Order": [
        {"name": "owner", "type": "address"},
        {"name": "side", "type": "uint8"},
        {"name": "energyWh", "type": "uint64"},
        {"name": "limitPricePerWh", "type": "uint96"},
        {"name": "areaId", "type": "bytes32"},
        {"name": "windowStart", "type": "uint40"},
        {"name": "windowEnd", "type": "uint40"},
        {"name": "routeHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint64"},
        {"name": "expiry", "type": "uint40"},
    ]
}
TRADE_RECEIPT_TYPES = {
    "TradeReceipt": [
        {"name": "clearingId", "type": "uint256"},
        {"name": "tradeIndex", "type": "uint256"},
        {"name": "deliveredWh", "type": "uint64"},
    ]
}


def domain(name_version: tuple[str, str], chain_id: int, verifying_contract: str) -> dict[str, Any]:
    name, version = name_version
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}


def sign(account: LocalAccount, domain_data: dict[str, Any], types: dict[str, Any], message: dict[str, Any]) -> bytes:
    signed = Account.sign_typed_data(account.key, domain_data=domain_data, message_types=types, message_data=message)
    return bytes(signed.signature)


def recover(domain_data: dict[str, Any], types: dict[str, Any], message: dict[str, Any], signature: bytes) -> str:
    """The signer under the contracts' strict rule (protocol.recover): BadSignature for high s, v not 27/28."""
    return recover_typed(domain_data, types, message, signature)
