"""commitClearing calldata in encodings the Clearing's decoder accepts and eth_abi's strict one refuses: what a
hostile operator can send to make its commit unreadable to whoever rebuilds it."""

from __future__ import annotations

from typing import Any

from v2vchain.contracts.clearing import ClearingClient
from v2vchain.protocol.clearing import PreparedClearing

SELECTOR = 4
WORD = 32
HEADER_WORDS = 6  # clearingId, mechanismId, paramsHash, tradesRoot, marginalBuy, marginalSell
ROUTES_OFFSET_AT = SELECTOR + (HEADER_WORDS + 2) * WORD  # the head word after the orders' and trades' offsets
PARAMS_HASH_AT = 2  # the header word holding paramsHash, which the Clearing does not read: the operator may zero it


def commit_data(client: ClearingClient, prepared: PreparedClearing) -> bytearray:
    """The canonical encoding, which ends with the routes' value and its zero padding."""
    encoded = client.contract.encode_abi("commitClearing", args=list(prepared.commit_args()))
    return bytearray(bytes.fromhex(encoded[2:]))


def dirty_routes_padding(client: ClearingClient, prepared: PreparedClearing) -> bytes:
    """The last byte of the routes' padding set (the routes' length must not be a multiple of 32)."""
    assert len(prepared.routes) % WORD, "no padding to dirty"
    data = commit_data(client, prepared)
    data[-1] = 1
    return bytes(data)


def routes_at_the_header(client: ClearingClient, prepared: PreparedClearing) -> bytes:
    """An empty routes argument whose offset points at the header's zero paramsHash word, inside the head."""
    assert prepared.routes == b"" and prepared.params_hash == bytes(WORD)
    data = commit_data(client, prepared)
    data[ROUTES_OFFSET_AT : ROUTES_OFFSET_AT + WORD] = (PARAMS_HASH_AT * WORD).to_bytes(WORD, "big")
    return bytes(data)


def send(client: ClearingClient, data: bytes) -> Any:
    """Mine a commitClearing with exactly this calldata."""
    return client.sender.send({"to": client.address, "data": "0x" + data.hex(), "gas": 5_000_000}, action="commit")
