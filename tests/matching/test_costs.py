"""The pair cost model: the published van-fleet numbers, integer results, rounding up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2vchain.matching.costs import CostParams, distance_m, pair_costs, window_overlap_s
from v2vchain.matching.errors import InvalidClearingParameter

P = CostParams()


def costs(dist: int, q: int, params: CostParams = P) -> dict[str, int]:
    c = pair_costs(np.array([dist]), np.array([q]), params)
    return {
        name: int(getattr(c, name)[0])
        for name in (
            "travel_s",
            "transfer_s",
            "travel_cost",
            "seller_cost",
            "total",
            "required_s",
            "buyer_share",
            "seller_share",
        )
    }


def test_defaults_are_domain_numbers() -> None:
    assert (P.consumption_wh_per_km, P.speed_km_per_h, P.transfer_power_w, P.efficiency_bps, P.time_cost_per_h) == (
        180,
        30,
        30_000,
        9_700,
        5_000_000,
    )


def test_one_degree_of_meridian_is_111195_metres() -> None:
    assert distance_m(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]))[0] == 111_195


def test_berlin_to_paris_is_about_878_km() -> None:
    d = distance_m(np.array([52.52]), np.array([13.405]), np.array([48.8566]), np.array([2.3522]))[0]
    assert 877_000 < d < 879_000


def test_transfer_in_one_cell_costs_losses_and_degradation_only() -> None:
    # 10 kWh delivered: ceil(10000 / 0.97) = 10310 Wh discharged; 310 Wh lost at 150; 10.31 kWh x 20000 cycled
    c = costs(0, 10_000)
    assert (c["travel_cost"], c["seller_cost"], c["transfer_s"]) == (0, 310 * 150 + 206_200, 1_238)


def test_three_km_drive_costs_its_energy_and_drivers_time() -> None:
    # 540 Wh at 150, plus 360 s at 5 tokens an hour = 500000 units
    c = costs(3_000, 1)
    assert (c["travel_s"], c["travel_cost"]) == (360, 540 * 150 + 500_000)


def test_drive_is_shared_and_losses_are_the_sellers() -> None:
    c = costs(3_000, 10_000)
    assert c["buyer_share"] == c["travel_cost"] // 2
    assert c["buyer_share"] + c["seller_share"] == c["total"]


def test_windows_must_overlap_for_the_drive_plus_the_transfer() -> None:
    c = costs(3_000, 10_000)
    assert c["required_s"] == 360 + 1_238


@given(st.integers(0, 50_000), st.integers(0, 50_000), st.integers(1, 1_000_000))
def test_cost_never_falls_as_the_distance_grows(d1: int, d2: int, q: int) -> None:
    near, far = sorted((d1, d2))
    assert costs(near, q)["total"] <= costs(far, q)["total"]


@given(st.integers(0, 50_000), st.integers(1, 1_000_000))
def test_every_cost_is_a_non_negative_integer(d: int, q: int) -> None:
    assert all(isinstance(v, int) and v >= 0 for v in costs(d, q).values())


def test_overlap_of_disjoint_windows_is_negative() -> None:
    assert window_overlap_s(np.array([0]), np.array([10]), np.array([20]), np.array([30]))[0] == -10


@pytest.mark.parametrize(
    "field,value",
    [
        ("speed_km_per_h", 0),
        ("efficiency_bps", 4_999),
        ("efficiency_bps", 10_001),
        ("transfer_power_w", -1),
        ("consumption_wh_per_km", 1.5),
        ("degradation_per_kwh", 10**10),
    ],
)
def test_out_of_range_cost_parameter_raises_InvalidClearingParameter(field: str, value: object) -> None:
    with pytest.raises(InvalidClearingParameter):
        CostParams(**{field: value})
