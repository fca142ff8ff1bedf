"""Order signatures on columns (v2vchain.matching.columnar_signatures) answer as matching.signing.verify_order."""

from __future__ import annotations

import numpy as np
import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import FAST, order, order_sets
from v2vchain.matching import Order, Side, columnar
from v2vchain.matching.columnar_signatures import order_digests, signed_by_owner
from v2vchain.matching.errors import OrderSignatureMismatch
from v2vchain.matching.signing import clearing_domain, sign_order, verify_order
from v2vchain.protocol.orders import ChainOrder, order_digest
from v2vchain.protocol.signatures import malleate

CHAIN_ID, CONTRACT = 31337, "0x" + "5f" * 20
DOMAIN = clearing_domain(CHAIN_ID, CONTRACT)
KEYS = [Account.from_key(bytes([k]) * 32) for k in range(1, 5)]


@FAST
@given(order_sets(max_buyers=6, max_sellers=6))
def test_each_rows_digest_is_the_one_a_commit_publishes(orders: list[Order]) -> None:
    assert order_digests(columnar.from_orders(orders), DOMAIN) == [
        order_digest(ChainOrder.of(o), CHAIN_ID, CONTRACT) for o in orders
    ]


def _verified(o: Order, signature: bytes) -> bool:
    try:
        verify_order(DOMAIN, o, signature)
    except OrderSignatureMismatch:
        return False
    return True


@FAST
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 5)),
        min_size=1,
        max_size=8,
        unique_by=lambda row: row[0],
    )
)
def test_the_mask_is_verify_order_on_every_form_of_signature(rows: list[tuple[int, int, int]]) -> None:
    orders, sigs = [], []
    for owner, signer, form in rows:
        o = order(int(KEYS[owner].address, 16), Side.BUY, nonce=owner)
        genuine = sign_order(KEYS[signer], DOMAIN, o)
        sigs.append(
            [
                genuine,
                malleate(genuine),
                genuine[:64] + bytes([genuine[64] - 27]),
                bytes(65),
                genuine[:32] + bytes(32) + genuine[64:],
                bytes(range(65)),
            ][form]
        )
        orders.append(o)
    mask = signed_by_owner(
        columnar.from_orders(orders), DOMAIN, np.frombuffer(b"".join(sigs), np.uint8).reshape(len(sigs), 65)
    )
    assert mask.tolist() == [_verified(o, s) for o, s in zip(orders, sigs)]


@pytest.mark.parametrize("signer", [0, 1])
def test_only_the_owners_signature_passes(signer: int) -> None:
    o = order(int(KEYS[0].address, 16), Side.SELL)
    sig = np.frombuffer(sign_order(KEYS[signer], DOMAIN, o), np.uint8).reshape(1, 65)
    assert signed_by_owner(columnar.from_orders([o]), DOMAIN, sig).tolist() == [signer == 0]
