"""Location privacy: what a node publishes instead of its position, and how the exact point reaches one party.

Default: geo-indistinguishability (`laplace_cloak`, eps = ln4/200 per metre). It needs no knowledge of other
vehicles, so no party ever collects exact positions to compute it (the central-anonymiser leak the literature
warns about); its guarantee holds whatever the observer knows; and its error does not grow where vehicles are
sparse. k-anonymity (`k_anonymous_cell`) is offered where a trusted venue knows the vehicles present; it needs
their positions and its cells jump 32-fold in area per step. `scripts/bench_privacy.py` prices both.
"""

from .errors import InvalidGeohash, SealBroken
from .geo import haversine_m
from .kanon import CellCounts, GeohashCloak, k_anonymous_cell
from .laplace import DEFAULT_EPSILON_PER_M, LaplaceCloak, epsilon_for_mean_noise, laplace_cloak, planar_laplace
from .seal import open_meeting_point, seal_meeting_point, x25519_key

DEFAULT_METHOD = "laplace"

__all__ = [
    "CellCounts",
    "DEFAULT_EPSILON_PER_M",
    "DEFAULT_METHOD",
    "GeohashCloak",
    "InvalidGeohash",
    "LaplaceCloak",
    "SealBroken",
    "epsilon_for_mean_noise",
    "haversine_m",
    "k_anonymous_cell",
    "laplace_cloak",
    "open_meeting_point",
    "planar_laplace",
    "seal_meeting_point",
    "x25519_key",
]
