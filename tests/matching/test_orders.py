"""Order validation: each rule refuses its bad value with its own error, carrying the value."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.strategies import T0, order
from v2vchain.errors import InvalidInput
from v2vchain.matching.errors import (
    EnergyOutOfRange,
    InvalidArea,
    InvalidExpiry,
    InvalidOwner,
    InvalidSide,
    InvalidWindow,
    NonceOutOfRange,
    PriceOutOfRange,
)
from v2vchain.matching.orders import MAX_ENERGY_WH, MAX_PRICE_PER_WH, MAX_WINDOW_S, Side


def test_a_valid_order_keeps_its_fields() -> None:
    o = order(7, Side.SELL, energy_wh=12_000, price=60, nonce=3)
    assert (o.side, o.energy_wh, o.limit_price_per_wh, o.nonce) == (Side.SELL, 12_000, 60, 3)


def test_order_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        order().energy_wh = 1


def test_owner_is_stored_lower_case_so_tie_breaks_ignore_checksum_case() -> None:
    assert order(owner="0x" + "AB" * 20).owner == "0x" + "ab" * 20


@pytest.mark.parametrize("owner", ["0x123", "ab" * 20, "0x" + "g" * 40, 5])
def test_malformed_owner_raises_InvalidOwner(owner: object) -> None:
    with pytest.raises(InvalidOwner):
        order(owner=owner)


@pytest.mark.parametrize("side", [0, 3, True, "BUY"])
def test_unknown_side_raises_InvalidSide(side: object) -> None:
    with pytest.raises(InvalidSide):
        order(side=side)


@pytest.mark.parametrize("energy", [0, -1, MAX_ENERGY_WH + 1, 1.5, True])
def test_zero_negative_oversized_or_fractional_energy_raises_EnergyOutOfRange(energy: object) -> None:
    with pytest.raises(EnergyOutOfRange) as info:
        order(energy_wh=energy)
    assert info.value.energy_wh == energy and info.value.max_wh == MAX_ENERGY_WH


@pytest.mark.parametrize("price", [0, -5, MAX_PRICE_PER_WH + 1, 99.5])
def test_zero_negative_oversized_or_float_price_raises_PriceOutOfRange(price: object) -> None:
    with pytest.raises(PriceOutOfRange):
        order(price=price)


@pytest.mark.parametrize("nonce", [-1, 2**64, "1"])
def test_nonce_outside_uint64_raises_NonceOutOfRange(nonce: object) -> None:
    with pytest.raises(NonceOutOfRange):
        order(nonce=nonce)


@pytest.mark.parametrize(
    "start,end",
    [(T0, T0), (T0, T0 - 1), (0, 100), (T0, T0 + MAX_WINDOW_S + 1), (2**40, 2**40 + 10), (T0, float(T0 + 60))],
)
def test_empty_reversed_too_long_or_out_of_range_window_raises_InvalidWindow(start: object, end: object) -> None:
    with pytest.raises(InvalidWindow):
        order(start=start, end=end, expiry_ts=1)


@pytest.mark.parametrize("expiry", [0, T0 + 7_201])
def test_expiry_after_the_window_or_zero_raises_InvalidExpiry(expiry: int) -> None:
    with pytest.raises(InvalidExpiry):
        order(expiry_ts=expiry)


@pytest.mark.parametrize(
    "area",
    [
        dict(area_id=""),
        dict(area_id="x" * 65),
        dict(area_lat=91.0),
        dict(area_lon=-180.5),
        dict(area_lat=float("nan")),
        dict(area_lon="13"),
    ],
)
def test_bad_area_id_or_centre_raises_InvalidArea(area: dict) -> None:
    with pytest.raises(InvalidArea):
        order(**area)


def test_order_errors_are_InvalidInput_so_callers_catch_them_with_the_library_errors() -> None:
    with pytest.raises(InvalidInput):
        order(energy_wh=0)
