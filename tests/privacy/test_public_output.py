"""Scan what a node publishes: no rendering of the exact coordinates may appear in it."""

from __future__ import annotations

import json
import random

import pytest

from v2vchain.privacy import CellCounts, k_anonymous_cell, laplace_cloak

rng = random.Random(2024)
POSITIONS = [(52.52 + rng.uniform(-0.09, 0.09), 13.405 + rng.uniform(-0.14, 0.14)) for _ in range(200)]
COUNTS = CellCounts(POSITIONS)


def renderings(value: float, finest: int) -> set[str]:
    """How a coordinate could leak: its repr, and fixed decimals from `finest` to 8 (2 decimals ~ 1 km)."""
    return {repr(value), *(f"{value:.{d}f}" for d in range(finest, 9))}


def leaked(text: str, value: float, finest: int) -> list[str]:
    return sorted(r for r in renderings(value, finest) if r in text)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_geohash_cloak_output_has_no_coordinate_digits(k: int) -> None:
    for lat, lon in POSITIONS:
        public = k_anonymous_cell((lat, lon), COUNTS, k).public()
        text = json.dumps(public)
        assert not leaked(text, lat, 2) and not leaked(text, lon, 2), text
        assert set(public) == {"kind", "cell", "k"}


def test_laplace_cloak_output_never_carries_the_exact_point() -> None:
    """A noisy point may share a few digits with the truth on one axis by chance; it must never carry both
    coordinates to 10 cm (6 decimals), which only a leak of the exact position would do."""
    noise = random.Random(99)
    for lat, lon in POSITIONS:
        public = laplace_cloak((lat, lon), rng=noise).public()
        text = json.dumps(public)
        assert not (leaked(text, lat, 6) and leaked(text, lon, 6)), text
        assert set(public) == {"kind", "lat", "lon", "epsilonPerM"}
