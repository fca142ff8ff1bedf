"""An order's route: the cloaked cells its vehicle passes through and when.

A route is optional: an order without one is a parked vehicle at its area for its window. A route's owner signs only
its hash (the order's `routeHash`, zero for none); the operator publishes the route itself in the commit's calldata,
where the Clearing checks it against that hash, so anyone can recompute a clearing's meeting costs from chain data
alone. Waypoints are geohash cells, never positions: the owner chooses how coarse (a route at precision 5 reveals
~5 km cells and the times it plans to pass them).

Encoding (packed, what `routeHash` is the keccak of): one byte n (2..MAX_WAYPOINTS), then n waypoints of 42 bytes
each: the cell's bytes32 area id (v2vchain.protocol.areas), uint40 arrive, uint40 depart (big-endian). A commit's
`routes` argument is the concatenation, in order-list order, of the encodings of the orders whose routeHash is not
zero.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from eth_utils import keccak

from v2vchain.errors import InvalidInput

from .areas import area_id, cell_of
from .errors import InvalidRoute

MAX_WAYPOINTS = 8  # a commuter's trip or a van's shift between depots; bounds a commit's calldata per order
WAYPOINT_BYTES = 42  # bytes32 area id, uint40 arrive, uint40 depart
NO_ROUTE = bytes(32)  # the routeHash of an order without a route
MAX_TS = 2**40 - 1


@dataclass(frozen=True, slots=True)
class Waypoint:
    """The vehicle is in `cell` from arrive_ts until depart_ts; it may meet another only on the way between two
    waypoints."""

    cell: str
    arrive_ts: int
    depart_ts: int


@dataclass(frozen=True)
class Route:
    waypoints: tuple[Waypoint, ...]

    def __post_init__(self) -> None:
        points = self.waypoints
        if not isinstance(points, tuple) or not 2 <= len(points) <= MAX_WAYPOINTS:
            count = len(points) if isinstance(points, (tuple, list)) else points
            raise InvalidRoute(f"a route has 2..{MAX_WAYPOINTS} waypoints, got {count!r} (a parked vehicle has none)")
        previous = 0
        for k, w in enumerate(points):
            if not isinstance(w, Waypoint):
                raise InvalidRoute(f"waypoint {k} is not a Waypoint")
            try:
                area_id(w.cell)
            except InvalidInput as exc:
                raise InvalidRoute(f"waypoint {k}: {exc}") from None
            for name in ("arrive_ts", "depart_ts"):
                value = getattr(w, name)
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TS:
                    raise InvalidRoute(f"waypoint {k}: {name} must be an int in 1..{MAX_TS}, got {value!r}")
            if w.depart_ts < w.arrive_ts:
                raise InvalidRoute(f"waypoint {k} departs ({w.depart_ts}) before it arrives ({w.arrive_ts})")
            if w.arrive_ts < previous:
                raise InvalidRoute(f"waypoint {k} arrives ({w.arrive_ts}) before waypoint {k - 1} departs ({previous})")
            previous = w.depart_ts

    @property
    def start_ts(self) -> int:
        return self.waypoints[0].arrive_ts

    @property
    def end_ts(self) -> int:
        return self.waypoints[-1].depart_ts

    def as_json(self) -> list[dict[str, str | int]]:
        """Its cells and times as the peer protocol and the CLI write them."""
        return [{"cell": w.cell, "arrive_ts": w.arrive_ts, "depart_ts": w.depart_ts} for w in self.waypoints]

    def encode(self) -> bytes:
        return bytes([len(self.waypoints)]) + b"".join(
            area_id(w.cell) + w.arrive_ts.to_bytes(5, "big") + w.depart_ts.to_bytes(5, "big") for w in self.waypoints
        )

    @property
    def hash(self) -> bytes:
        return keccak(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> Route:
        """The route a packed encoding holds; InvalidRoute for any other byte string (no trailing bytes)."""
        route, end = _read(bytes(data), 0)
        if end != len(data):
            raise InvalidRoute(f"{len(data) - end} bytes after the route's {end}")
        return route


def route_hash(route: Route | None) -> bytes:
    return NO_ROUTE if route is None else route.hash


def routes_blob(routes: Sequence[Route | None]) -> bytes:
    """A commit's `routes` argument for orders carrying these routes, in order-list order."""
    return b"".join(r.encode() for r in routes if r is not None)


def split_routes(blob: bytes, hashes: Sequence[bytes]) -> list[Route | None]:
    """Each order's route out of a commit's `routes` argument, given the orders' signed routeHash values, checked
    as the Clearing checks them and decoded (InvalidRoute naming the first order whose route is missing, wrong,
    extra or not a route)."""
    out: list[Route | None] = []
    for k, segment in enumerate(route_segments(blob, hashes)):
        try:
            out.append(None if segment is None else Route.decode(segment))
        except InvalidRoute as exc:
            raise InvalidRoute(f"order {k}: {exc.reason}") from None
    return out


def route_segments(blob: bytes, hashes: Sequence[bytes]) -> list[bytes | None]:
    """Each order's route bytes, checked exactly as the Clearing checks them and no further: n in 2..MAX_WAYPOINTS,
    the 1 + 42 n bytes present and hashing to the routeHash, nothing left over. The cells and times are not read
    (an audit judges a committed route that does not decode instead of failing on it)."""
    data, at = bytes(blob), 0
    out: list[bytes | None] = []
    for k, h in enumerate(hashes):
        if bytes(h) == NO_ROUTE:
            out.append(None)
            continue
        if at >= len(data):
            raise InvalidRoute(f"order {k}: no route where one was expected")
        n = data[at]
        if not 2 <= n <= MAX_WAYPOINTS:
            raise InvalidRoute(f"order {k}: a route has 2..{MAX_WAYPOINTS} waypoints, its first byte says {n}")
        end = at + 1 + n * WAYPOINT_BYTES
        if end > len(data):
            raise InvalidRoute(f"order {k}: a route of {n} waypoints needs {end - at} bytes, {len(data) - at} are left")
        if keccak(data[at:end]) != bytes(h):
            raise InvalidRoute(f"order {k}: the published route does not hash to the routeHash its owner signed")
        out.append(data[at:end])
        at = end
    if at != len(data):
        raise InvalidRoute(f"{len(data) - at} bytes of routes left after the last order's")
    return out


def _read(data: bytes, at: int) -> tuple[Route, int]:
    if at >= len(data):
        raise InvalidRoute("no route where one was expected")
    n = data[at]
    end = at + 1 + n * WAYPOINT_BYTES
    if end > len(data):
        raise InvalidRoute(f"a route of {n} waypoints needs {end - at} bytes, {len(data) - at} are left")
    return Route(tuple(_waypoints(data, at + 1, n))), end


def _waypoints(data: bytes, at: int, n: int) -> Iterator[Waypoint]:
    for k in range(n):
        p = at + k * WAYPOINT_BYTES
        cell = cell_of(data[p : p + 32])
        if not cell or area_id(cell) != data[p : p + 32]:
            raise InvalidRoute(f"waypoint {k}: bytes {data[p : p + 32].hex()} are not a geohash area id")
        yield Waypoint(cell, int.from_bytes(data[p + 32 : p + 37], "big"), int.from_bytes(data[p + 37 : p + 42], "big"))
