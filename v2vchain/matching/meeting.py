"""Where two vehicles on their plans can meet: the geometry the fleet planner (fleet/costs.py) and the clearing
(matching/costs.py) share, so both price a meeting the same way.

A vehicle's plan is a list of legs: from place a (leaving at t0) to place b (due at t1); a parked vehicle's leg runs
from its place back to its place over its window. Inserting a meeting point m into a leg costs the detour
a -> m -> b minus a -> b (never below zero; the way back to b included), and the vehicle is at m from t0 + drive(a,
m) until it must leave at t1 - drive(m, b). Two vehicles can meet at m for as long as both are there.

Each caller says how a great-circle distance becomes its metres (`metres`: the fleet scales by its road factor and
keeps floats; the clearing rounds to whole metres, so its costs are integer-exact) and how metres become seconds
(`drive`); the candidate points and the insertion arithmetic are written once, here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
N_CANDIDATES = 7  # leg p's start, end and middle; leg c's start, end and middle; the middle of the two middles

Metres = Callable[[np.ndarray], np.ndarray]  # great-circle metres (float) -> the caller's distance unit
Drive = Callable[[np.ndarray], np.ndarray]  # the caller's distance -> integer seconds


def haversine_m(lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike) -> np.ndarray:
    """Great-circle distance in (float) metres; broadcasts."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))))


def whole_metres(great_circle_m: np.ndarray) -> np.ndarray:
    """The clearing's metres: rounded half to even (numpy.rint), the only float step of its cost model."""
    return np.asarray(np.rint(great_circle_m)).astype(np.int64)


@dataclass(frozen=True)
class LegEnds:
    """Legs as arrays that broadcast together: from (a_lat, a_lon), leaving at t0, to (b_lat, b_lon), due at t1."""

    a_lat: np.ndarray
    a_lon: np.ndarray
    b_lat: np.ndarray
    b_lon: np.ndarray
    t0: np.ndarray
    t1: np.ndarray


def candidates(p: LegEnds, c: LegEnds, shape: tuple[int, ...], stays: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The N_CANDIDATES meeting points of legs p and c (broadcast to `shape`, whose last axis is 1), stacked on
    the last axis in a fixed order: (lat, lon). stays: every leg of both is a stay (a == b, so its middle is a too):
    only the three distinct points, in the same order (p's place, c's place, halfway), so the first cheapest is the
    same point."""
    mp_lat, mp_lon = (p.a_lat + p.b_lat) / 2, (p.a_lon + p.b_lon) / 2
    mc_lat, mc_lon = (c.a_lat + c.b_lat) / 2, (c.a_lon + c.b_lon) / 2
    halfway = ((mp_lat + mc_lat) / 2, (mp_lon + mc_lon) / 2)
    if stays:
        points = [(p.a_lat, p.a_lon), (c.a_lat, c.a_lon), halfway]
    else:
        points = [
            (p.a_lat, p.a_lon),
            (p.b_lat, p.b_lon),
            (mp_lat, mp_lon),
            (c.a_lat, c.a_lon),
            (c.b_lat, c.b_lon),
            (mc_lat, mc_lon),
            halfway,
        ]
    lat = np.concatenate([np.broadcast_to(x, shape) for x, _ in points], axis=-1)
    lon = np.concatenate([np.broadcast_to(y, shape) for _, y in points], axis=-1)
    return lat, lon


@dataclass(frozen=True)
class Insertion:
    """A point inserted into a leg, in the caller's units."""

    to_m: np.ndarray  # a -> m
    from_m: np.ndarray  # m -> b
    detour: np.ndarray  # a -> m -> b minus a -> b, never below zero
    arrive_ts: np.ndarray  # at m at the earliest: t0 + drive(a -> m)
    leave_ts: np.ndarray  # must leave m by t1 - drive(m -> b) to be at b on time


def insert(
    leg: LegEnds,
    m_lat: np.ndarray,
    m_lon: np.ndarray,
    metres: Metres,
    drive: Drive,
    leg_length: np.ndarray | None = None,
    stays: bool = False,
) -> Insertion:
    """Insert m into the leg (arrays broadcast); leg_length, a -> b in the caller's unit, when already known.
    stays: every leg is a stay (a == b), so the way back is the way there and the leg has no length (a third of
    the trigonometry, for the clearing's parked pairs)."""
    to_m = metres(haversine_m(leg.a_lat, leg.a_lon, m_lat, m_lon))
    if stays:
        from_m, length = to_m, np.zeros_like(to_m)
    else:
        from_m = metres(haversine_m(m_lat, m_lon, leg.b_lat, leg.b_lon))
        length = metres(haversine_m(leg.a_lat, leg.a_lon, leg.b_lat, leg.b_lon)) if leg_length is None else leg_length
    detour = np.maximum(0, to_m + from_m - length)
    return Insertion(to_m, from_m, detour, leg.t0 + drive(to_m), leg.t1 - drive(from_m))


def together(p: Insertion, c: Insertion) -> tuple[np.ndarray, np.ndarray]:
    """(start, seconds) of the time both are at the meeting point: from the later arrival to the earlier
    departure (negative: they miss each other)."""
    start = np.maximum(p.arrive_ts, c.arrive_ts)
    return start, np.minimum(p.leave_ts, c.leave_ts) - start
