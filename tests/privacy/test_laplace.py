"""Planar Laplace noise (geo-indistinguishability): the radius law, the mean 2/eps, reproducibility."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v2vchain.errors import InvalidInput
from v2vchain.privacy import DEFAULT_EPSILON_PER_M, epsilon_for_mean_noise, haversine_m, laplace_cloak, planar_laplace
from v2vchain.privacy.laplace import lambert_w_minus1, noise_radius_m

BERLIN = (52.5200, 13.4050)


@given(st.floats(-1 / math.e + 1e-9, -1e-300))
def test_lambert_w_minus1_inverts_w_exp_w_on_the_lower_branch(x: float) -> None:
    w = lambert_w_minus1(x)
    assert w <= -1
    assert w * math.exp(w) == pytest.approx(x, rel=1e-9)


def test_lambert_w_minus1_agrees_with_scipy() -> None:
    special = pytest.importorskip("scipy.special")
    for x in (-0.3678, -0.3, -0.2, -0.05, -1e-6, -1e-15):
        assert lambert_w_minus1(x) == pytest.approx(special.lambertw(x, -1).real, rel=1e-12)


def test_lambert_w_minus1_outside_its_domain_is_refused() -> None:
    for x in (-0.5, 0.0, 0.1):
        with pytest.raises(InvalidInput):
            lambert_w_minus1(x)


@pytest.mark.parametrize("mean_m", [100, 250, 500, 1000])
def test_mean_noise_distance_is_two_over_epsilon(mean_m: float) -> None:
    rng = random.Random(7)
    epsilon = epsilon_for_mean_noise(mean_m)
    n = 4000
    distances = [haversine_m(BERLIN, planar_laplace(BERLIN, epsilon, rng)) for _ in range(n)]
    assert sum(distances) / n == pytest.approx(2 / epsilon, rel=0.06)  # sd of the mean is ~1.1 %
    within = sum(d <= 1 / epsilon for d in distances) / n  # C(1/eps) = 1 - 2/e
    assert within == pytest.approx(1 - 2 / math.e, abs=0.03)


def test_radius_inverse_cdf_matches_the_cdf() -> None:
    epsilon = 0.01
    for p in (0.0, 0.1, 0.5, 0.9, 0.999):
        r = noise_radius_m(epsilon, p)
        assert 1 - (1 + epsilon * r) * math.exp(-epsilon * r) == pytest.approx(p, abs=1e-9)


def test_noise_direction_is_uniform() -> None:
    rng = random.Random(3)
    points = [planar_laplace(BERLIN, 0.01, rng) for _ in range(4000)]
    east = sum(lon > BERLIN[1] for _, lon in points) / len(points)
    north = sum(lat > BERLIN[0] for lat, _ in points) / len(points)
    assert east == pytest.approx(0.5, abs=0.04) and north == pytest.approx(0.5, abs=0.04)


def test_injected_generator_makes_the_noise_reproducible() -> None:
    assert laplace_cloak(BERLIN, rng=random.Random(1)) == laplace_cloak(BERLIN, rng=random.Random(1))
    assert laplace_cloak(BERLIN, rng=random.Random(1)) != laplace_cloak(BERLIN, rng=random.Random(2))


def test_default_epsilon_is_ln4_per_200_m() -> None:
    assert pytest.approx(math.log(4) / 200) == DEFAULT_EPSILON_PER_M
    cloak = laplace_cloak(BERLIN)
    assert cloak.epsilon_per_m == DEFAULT_EPSILON_PER_M
    assert cloak.public()["kind"] == "laplace"


@pytest.mark.parametrize("epsilon", [0, -0.01, float("nan")])
def test_non_positive_epsilon_is_refused(epsilon: float) -> None:
    with pytest.raises(InvalidInput):
        planar_laplace(BERLIN, epsilon, random.Random(0))
