"""Geo-indistinguishability (Andrés et al., CCS 2013): publish the position plus planar Laplace noise.

For any two true positions d metres apart, the probability of any published point differs by at most e^(eps·d):
the guarantee holds whatever the observer knows and needs no other vehicle's position. The noise radius has the
Gamma(2, 1/eps) law (mean 2/eps) and is drawn by its inverse CDF, which needs the -1 branch of Lambert W.
Each draw leaks a little: publish one noisy point per request and reuse it, never re-draw for the same position,
or averaged draws converge on the truth.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from v2vchain.errors import InvalidInput

from .geo import Position, check_position, offset

DEFAULT_EPSILON_PER_M = math.log(4) / 200  # Andrés et al.: ln 4 within 200 m; mean noise 2/eps ~ 289 m
PUBLISHED_DECIMALS = 5  # ~1 m: rounding is post-processing, so it costs no privacy and hides float artefacts


def lambert_w_minus1(x: float) -> float:
    """W_{-1}(x) for x in [-1/e, 0): the branch <= -1, by Halley's iteration (our own; no SciPy needed)."""
    if not -1 / math.e <= x < 0:
        raise InvalidInput(f"W_-1 is defined on [-1/e, 0), got {x!r}")
    if x <= -1 / math.e + 1e-15:
        return -1.0
    if x < -0.25:  # series around the branch point -1/e
        p = -math.sqrt(2 * (1 + math.e * x))
        w = -1 + p - p * p / 3 + 11 / 72 * p**3
    else:  # asymptotic expansion towards 0-
        l1 = math.log(-x)
        l2 = math.log(-l1)
        w = l1 - l2 + l2 / l1
    for _ in range(50):
        ew = math.exp(w)
        f = w * ew - x
        step = f / (ew * (w + 1) - (w + 2) * f / (2 * w + 2))
        w -= step
        if abs(step) <= 1e-15 * abs(w):
            break
    return w


def noise_radius_m(epsilon_per_m: float, p: float) -> float:
    """Inverse CDF of the planar Laplace radius, C(r) = 1 - (1 + eps·r)·e^(-eps·r), at p in [0, 1)."""
    return -(lambert_w_minus1((p - 1) / math.e) + 1) / epsilon_per_m


def planar_laplace(position: Position, epsilon_per_m: float, rng: random.Random | None = None) -> Position:
    """`position` moved by planar Laplace noise. The default generator is the OS's: predictable noise hides nothing."""
    check_position(*position)
    if not epsilon_per_m > 0:
        raise InvalidInput(f"epsilon must be positive (per metre), got {epsilon_per_m!r}")
    rng = rng or random.SystemRandom()
    theta = rng.uniform(0, 2 * math.pi)
    r = noise_radius_m(epsilon_per_m, rng.random())
    return offset(position, r * math.cos(theta), r * math.sin(theta))


def epsilon_for_mean_noise(mean_m: float) -> float:
    return 2 / mean_m


@dataclass(frozen=True)
class LaplaceCloak:
    point: Position  # rounded to PUBLISHED_DECIMALS
    epsilon_per_m: float

    @property
    def centre(self) -> Position:
        """Where matching places the vehicle."""
        return self.point

    def public(self) -> dict[str, Any]:
        return {"kind": "laplace", "lat": self.point[0], "lon": self.point[1], "epsilonPerM": self.epsilon_per_m}


def laplace_cloak(
    position: Position, epsilon_per_m: float = DEFAULT_EPSILON_PER_M, rng: random.Random | None = None
) -> LaplaceCloak:
    lat, lon = planar_laplace(position, epsilon_per_m, rng)
    return LaplaceCloak(
        point=(round(lat, PUBLISHED_DECIMALS), round(lon, PUBLISHED_DECIMALS)), epsilon_per_m=epsilon_per_m
    )
