"""The order book: set rules and the one canonical order every mechanism breaks ties with."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.strategies import FAST, ask, bid, order
from v2vchain.matching.book import make_book, sort_key
from v2vchain.matching.errors import DuplicateOrder, OwnerOnBothSides
from v2vchain.matching.orders import Side


def test_two_orders_with_one_owner_and_nonce_raise_DuplicateOrder() -> None:
    with pytest.raises(DuplicateOrder) as info:
        make_book([bid(1, 100, nonce=4), bid(1, 90, nonce=4)])
    assert info.value.nonce == 4


def test_one_owner_buying_and_selling_raises_OwnerOnBothSides() -> None:
    with pytest.raises(OwnerOnBothSides):
        make_book([bid(1, 100, nonce=1), ask(1, 90, nonce=2)])


def test_one_owner_may_place_several_orders_on_one_side() -> None:
    assert len(make_book([bid(1, 100, nonce=1), bid(1, 90, nonce=2)]).buys) == 2


def test_buyers_sort_by_price_descending_then_nonce_then_owner() -> None:
    book = make_book([bid(3, 90, nonce=0), bid(2, 100, nonce=1), bid(5, 100, nonce=0), bid(4, 100, nonce=0)])
    assert [(o.limit_price_per_wh, o.nonce, int(o.owner, 16)) for o in book.buys.orders] == [
        (100, 0, 4),
        (100, 0, 5),
        (100, 1, 2),
        (90, 0, 3),
    ]


def test_sellers_sort_by_price_ascending_then_nonce_then_owner() -> None:
    book = make_book([ask(3, 90), ask(2, 80, nonce=1), ask(1, 80, nonce=1)])
    assert [int(o.owner, 16) for o in book.sells.orders] == [1, 2, 3]


@FAST
@given(st.randoms(), st.booleans())
def test_book_order_matches_the_python_sort_key_even_when_owners_share_64_bits(
    rng: random.Random, shared_prefix: bool
) -> None:
    # with a shared 64-bit owner prefix, the sort falls back to the full address
    prefix = "ab" * 8 if shared_prefix else ""
    orders = [
        order(
            owner=f"0x{prefix}{rng.randrange(16**24) if not shared_prefix else i:0{40 - len(prefix)}x}",
            side=rng.choice([Side.BUY, Side.SELL]),
            price=rng.randrange(40, 44),
            nonce=rng.randrange(3),
        )
        for i in range(300)
    ]
    orders = list({o.owner: o for o in orders}.values())
    book = make_book(orders)
    for side in (book.buys, book.sells):
        assert list(side.orders) == sorted(side.orders, key=sort_key)
