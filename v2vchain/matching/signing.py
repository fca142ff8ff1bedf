"""EIP-712 orders: the one Python copy of the order type, and signing / verification against the owner."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from v2vchain.protocol.eip712 import CLEARING_DOMAIN, ORDER_TYPES
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.routes import route_hash
from v2vchain.protocol.signatures import recover_typed

from .errors import OrderSignatureMismatch
from .orders import Order


def clearing_domain(chain_id: int, verifying_contract: str) -> dict[str, Any]:
    name, version = CLEARING_DOMAIN
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}


def order_message(order: Order) -> dict[str, Any]:
    """The signed fields; the area's centre is derived from areaId, so it is not signed; the route by its hash."""
    return {
        "owner": order.owner,
        "side": int(order.side),
        "energyWh": order.energy_wh,
        "limitPricePerWh": order.limit_price_per_wh,
        "areaId": order.area_word,
        "windowStart": order.window_start_ts,
        "windowEnd": order.window_end_ts,
        "routeHash": route_hash(order.route),
        "nonce": order.nonce,
        "expiry": order.expiry_ts,
    }


def sign_order(account: LocalAccount, domain: dict[str, Any], order: Order) -> bytes:
    signed = Account.sign_typed_data(
        account.key, domain_data=domain, message_types=ORDER_TYPES, message_data=order_message(order)
    )
    return bytes(signed.signature)


def order_signer(domain: dict[str, Any], order: Order, signature: bytes) -> str:
    """The order's signer under the contracts' strict rule (high s, v not 27/28: BadSignature)."""
    return recover_typed(domain, ORDER_TYPES, order_message(order), signature)


def verify_order(domain: dict[str, Any], order: Order, signature: bytes) -> None:
    """Raise OrderSignatureMismatch unless the order's owner signed it under this domain."""
    try:
        signer = order_signer(domain, order, signature)
    except BadSignature as exc:
        raise OrderSignatureMismatch(order.owner, f"no valid signer ({exc})") from None
    if signer.lower() != order.owner:
        raise OrderSignatureMismatch(order.owner, signer)
