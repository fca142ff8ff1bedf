"""k-pricing and the clearing parameters."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2vchain.matching.errors import InvalidClearingParameter
from v2vchain.matching.params import ClearingParams, GridPrices
from v2vchain.matching.pricing import k_price


def test_k_zero_gives_the_ask_and_k_one_the_bid() -> None:
    assert (k_price(70, 90, Fraction(0)), k_price(70, 90, Fraction(1))) == (70, 90)


def test_k_price_rounds_down_toward_the_ask() -> None:
    assert k_price(70, 90, Fraction(1, 3)) == 76  # 70 + floor(20 / 3)


@given(st.integers(1, 10**9), st.integers(0, 10**9), st.fractions(0, 1))
def test_k_price_stays_between_ask_and_bid(low: int, gap: int, k: Fraction) -> None:
    assert low <= k_price(low, low + gap, k) <= low + gap


@pytest.mark.parametrize("k", [0.5, Fraction(3, 2), Fraction(-1, 2), True])
def test_float_or_out_of_range_k_raises_InvalidClearingParameter(k: object) -> None:
    with pytest.raises(InvalidClearingParameter):
        ClearingParams(k=k)


def test_zero_nearest_areas_raises_InvalidClearingParameter() -> None:
    with pytest.raises(InvalidClearingParameter):
        ClearingParams(nearest_areas=0)


def test_negative_grid_price_raises_InvalidClearingParameter() -> None:
    with pytest.raises(InvalidClearingParameter):
        GridPrices(import_per_wh=-1)
