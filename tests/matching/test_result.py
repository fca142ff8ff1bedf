"""A clearing's books: payments, receipts, the operator's spread and savings against the grid."""

from __future__ import annotations

from tests.support.strategies import ask, bid
from v2vchain.matching import ClearingParams, double_auction, trade_reduction
from v2vchain.matching.venues import clear_by_venue, geohash_parent

PARAMS = ClearingParams()  # grid import 150, export 50 per Wh


def test_buyers_saving_is_the_grid_import_bill_minus_what_they_paid() -> None:
    result = double_auction([bid(1, 120, 2_000), ask(2, 80, 2_000)], PARAMS)  # clears at 100
    assert (result.buyers_paid, result.buyers_saving) == (200_000, 2_000 * 150 - 200_000)


def test_sellers_saving_is_what_they_received_minus_the_grid_export_payment() -> None:
    result = double_auction([bid(1, 120, 2_000), ask(2, 80, 2_000)], PARAMS)
    assert (result.sellers_received, result.sellers_saving) == (200_000, 200_000 - 2_000 * 50)


def test_trade_reduction_spread_is_reported_as_operator_surplus() -> None:
    result = trade_reduction([bid(1, 100), bid(2, 90), ask(3, 30), ask(4, 50)], PARAMS)
    assert result.operator_surplus == 1_000 * (90 - 50)


def test_payment_and_receipt_are_energy_times_each_sides_price() -> None:
    (trade,) = trade_reduction([bid(1, 100), bid(2, 90), ask(3, 30), ask(4, 50)], PARAMS).trades
    assert (trade.payment, trade.receipt) == (90_000, 50_000)


def test_clearing_by_venue_never_pairs_orders_from_different_venues() -> None:
    orders = [
        bid(1, 120, cell="u33dc0"),
        ask(2, 80, cell="u33d8x"),
        bid(3, 120, cell="u33d8x"),
        ask(4, 80, cell="u33dc2"),
    ]
    result = clear_by_venue(double_auction, orders, PARAMS, geohash_parent(5))
    assert {(t.buyer.area_id[:5], t.seller.area_id[:5]) for t in result.trades} == {
        ("u33dc", "u33dc"),
        ("u33d8", "u33d8"),
    }
