"""Order signatures checked on columns (columnar.py), without an Order or a message dict per row.

Every row's EIP-712 Order struct is encoded at once with NumPy (eleven 32-byte words: typeHash, then the fields of
eip712.ORDER_TYPES in order; routeHash is zero, as a v2v-orders/1 file holds parked orders only); then each row costs
two keccaks and one libsecp256k1 recovery (protocol.recover), compared with the row's owner bytes. The strict
signature rule is protocol.recover's, which is signatures.split.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from v2vchain.protocol.areas import area_id
from v2vchain.protocol.eip712 import ORDER_TYPES, type_string
from v2vchain.protocol.errors import BadSignature
from v2vchain.protocol.recover import domain_separator, keccak, signer_bytes

from .columnar import OrderColumns

_TYPE_HASH = np.frombuffer(keccak(type_string(ORDER_TYPES).encode()), np.uint8)
_FIELDS = [f["name"] for f in ORDER_TYPES["Order"]]
_NUMBERS = {
    "energyWh": "energy_wh",
    "limitPricePerWh": "price_per_wh",
    "windowStart": "window_start",
    "windowEnd": "window_end",
    "nonce": "nonce",
    "expiry": "expiry",
}  # each < 2**64, so 8 bytes of a word


def order_structs(cols: OrderColumns) -> np.ndarray:
    """(n, 352) uint8: the encodeData of each row's Order, typeHash first; its keccak is the struct hash."""
    n = len(cols)
    words = np.zeros((n, 1 + len(_FIELDS), 32), dtype=np.uint8)
    words[:, 0] = _TYPE_HASH
    areas = np.array(
        [np.frombuffer(area_id(c.decode("ascii")), np.uint8) for c in cols.cell_id.tolist()], dtype=np.uint8
    ).reshape(len(cols.cell_id), 32)
    for k, name in enumerate(_FIELDS, start=1):
        if name == "owner":
            words[:, k, 12:] = cols.owner
        elif name == "side":
            words[:, k, 31] = cols.side
        elif name == "areaId":
            words[:, k] = areas[cols.cell]
        elif name == "routeHash":
            continue  # no route: the zero word
        else:
            words[:, k, 24:] = getattr(cols, _NUMBERS[name]).astype(">u8").view(np.uint8).reshape(n, 8)
    return words.reshape(n, 32 * (1 + len(_FIELDS)))


def order_digests(cols: OrderColumns, domain: Mapping[str, Any]) -> list[bytes]:
    """What each row's owner signs under `domain`: matching.signing's digest of the same order."""
    prefix = b"\x19\x01" + domain_separator(domain)
    return [keccak(prefix + keccak(row.tobytes())) for row in order_structs(cols)]


def signed_by_owner(cols: OrderColumns, domain: Mapping[str, Any], signatures: np.ndarray) -> np.ndarray:
    """A mask over the rows: True where signatures[i] (65 bytes r || s || v) is the row's owner's signature under
    the strict rule; False for a refused signature or another signer."""
    valid = np.zeros(len(cols), dtype=bool)
    for i, (digest, signature, owner) in enumerate(zip(order_digests(cols, domain), signatures, cols.owner)):
        try:
            valid[i] = signer_bytes(digest, signature.tobytes()) == owner.tobytes()
        except BadSignature:
            continue
    return valid
