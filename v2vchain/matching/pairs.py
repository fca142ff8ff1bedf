"""Buyer-seller pairs for the cost-aware mechanisms: which pairs are candidates, and what each is worth.

A pair trades q = min(buyer's Wh, seller's Wh) once, at its cheapest meeting along both plans (costs.py). Its welfare is
q x (bid - ask) minus the pair's costs; each side's share is its own detour's energy and time and its driver's time
during the transfer, and the seller's transfer losses and battery wear are its own too. The pair price first covers each
side's cost share, then splits what is left by k: price = k_price(ask + ceil(seller share / q), bid - ceil(buyer share /
q)); so an acceptable pair (feasible: both can stay at the meeting point for the transfer and reach their next waypoints
on time; that interval non-empty; welfare > 0) leaves neither side worse off than its own limit, and the price always
lies in [ask, bid]. With stations in the parameters (outside.py) the limits are capped by each side's outside option
(trade_values), so no acceptable pair leaves a side worse off than its station or the grid export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .areas import unit_vectors
from .book import Book, SideBook
from .costs import PairCosts, pair_costs
from .legs import cell_centre, route_cells
from .orders import Order, Side
from .outside import buyer_saving
from .params import ClearingParams, GridPrices
from .pricing import k_price
from .result import ClearingResult, Satisfaction, Trade, assemble


@dataclass(frozen=True)
class Edges:
    """Pairs as parallel int64 arrays; buyer and seller index into the book's sides."""

    buyer: np.ndarray
    seller: np.ndarray
    energy_wh: np.ndarray
    price_per_wh: np.ndarray
    net_low: np.ndarray  # ask + the seller's cost share per Wh (rounded up)
    net_high: np.ndarray  # bid - the buyer's cost share per Wh (rounded up)
    gain: np.ndarray  # buyer's value - seller's value (q x (bid - ask) without stations), before the pair's costs
    costs: PairCosts
    buyer_utility: np.ndarray
    seller_utility: np.ndarray

    def __len__(self) -> int:
        return len(self.buyer)

    @property
    def welfare(self) -> np.ndarray:
        return np.asarray(self.gain - self.costs.total)

    @property
    def feasible(self) -> np.ndarray:
        return self.costs.feasible

    @property
    def acceptable(self) -> np.ndarray:
        """Pairs a mechanism may choose: feasible, a price exists that covers both sides' costs, welfare > 0."""
        return self.feasible & (self.net_low <= self.net_high) & (self.welfare > 0)


def candidate_pairs(book: Book, nearest_areas: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (buyer, seller) whose seller is in one of the `nearest_areas` seller areas nearest one of the buyer's
    cells. A vehicle's cells are its area and, for a routed order, every waypoint cell (legs.route_cells); a seller
    area is a cell, placed where its first seller (book order) names it."""
    buys, sells = book.buys, book.sells
    if not len(buys) or not len(sells):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    seller_areas, seller_place = _areas(sells.orders)
    area_ids = sorted(seller_areas)
    lat, lon = (np.array([seller_place[a][x] for a in area_ids]) for x in (0, 1))
    tree = cKDTree(unit_vectors(lat, lon))
    members = [np.array(seller_areas[a], dtype=np.int64) for a in area_ids]
    k = min(nearest_areas, len(area_ids))
    buyer_areas, buyer_place = _areas(buys.orders)
    cells = list(buyer_areas)
    q_lat, q_lon = (np.array([buyer_place[c][x] for c in cells]) for x in (0, 1))
    _, near = tree.query(unit_vectors(q_lat, q_lon), k=k)
    near = np.asarray(near).reshape(len(cells), k)
    buyer_parts, seller_parts = [], []
    for cell, areas in zip(cells, near.tolist()):
        group = buyer_areas[cell]
        sellers = np.concatenate([members[a] for a in sorted(areas)])
        buyer_parts.append(np.repeat(np.array(group, dtype=np.int64), len(sellers)))
        seller_parts.append(np.tile(sellers, len(group)))
    pairs = np.unique(np.concatenate(buyer_parts) * len(sells) + np.concatenate(seller_parts))  # sorted, once each
    return pairs // len(sells), pairs % len(sells)


def _areas(orders: Sequence[Order]) -> tuple[dict[str, list[int]], dict[str, tuple[float, float]]]:
    """Each cell a side's orders stand in (areas and route cells) with the orders in it, in book order (so each
    cell's list and the cell order are canonical), and the cell's centre."""
    groups: dict[str, list[int]] = {}
    places: dict[str, tuple[float, float]] = {}
    for i, order in enumerate(orders):
        for cell, place in _places(order):
            group = groups.setdefault(cell, [])
            if not group or group[-1] != i:
                group.append(i)
            places.setdefault(cell, place)
    return groups, places


def _places(order: Order) -> list[tuple[str, tuple[float, float]]]:
    """(cell, centre) of each cell an order's vehicle is in; its area at the centre the order names."""
    cells = route_cells(order)
    return [(cells[0], (order.area_lat, order.area_lon))] + [(c, cell_centre(c)) for c in cells[1:]]


def edge_terms(buys: SideBook, sells: SideBook, buyer: np.ndarray, seller: np.ndarray, params: ClearingParams) -> Edges:
    bid, ask = buys.price[buyer], sells.price[seller]
    energy = np.minimum(buys.energy[buyer], sells.energy[seller])
    costs = pair_costs(buys.legs, sells.legs, buyer, seller, energy, params.costs)
    buyer_value, seller_value = trade_values(buys, buyer, energy, bid, ask, params)
    low = -(-(seller_value + costs.seller_share) // energy)
    high = (buyer_value - costs.buyer_share) // energy
    price = k_price(low, np.maximum(low, high), params.k)  # an empty interval is never acceptable anyway
    return Edges(
        buyer=buyer,
        seller=seller,
        energy_wh=energy,
        price_per_wh=price,
        net_low=low,
        net_high=high,
        gain=buyer_value - seller_value,
        costs=costs,
        buyer_utility=buyer_value - energy * price - costs.buyer_share,
        seller_utility=energy * price - seller_value - costs.seller_share,
    )


def trade_values(
    buys: SideBook,
    buyer: np.ndarray,
    energy: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    params: ClearingParams,
) -> tuple[np.ndarray, np.ndarray]:
    """What q Wh by V2V is worth to the buyer, and costs the seller, before the pair's costs (travel, both drivers'
    time during the transfer, losses and wear: costs.py).

    Without stations, the limits: q x bid and q x ask. With stations (outside.py), each side's outside option binds
    too: the buyer never values the energy above what its station would charge for it (the saving, its charging
    time included), the seller never below the grid export it forgoes."""
    stations = params.stations
    if not stations:
        return energy * bid, energy * ask
    saving = buyer_saving(
        buys.legs, buyer, buys.energy[buyer], energy, stations, params.costs, params.grid.import_per_wh
    )
    return np.minimum(energy * bid, saving), np.maximum(energy * ask, energy * params.grid.export_per_wh)


def candidate_edges(book: Book, params: ClearingParams) -> Edges:
    buyer, seller = candidate_pairs(book, params.nearest_areas)
    return edge_terms(book.buys, book.sells, buyer, seller, params)


def select(edges: Edges, mask: np.ndarray) -> Edges:
    return Edges(
        buyer=edges.buyer[mask],
        seller=edges.seller[mask],
        energy_wh=edges.energy_wh[mask],
        price_per_wh=edges.price_per_wh[mask],
        net_low=edges.net_low[mask],
        net_high=edges.net_high[mask],
        gain=edges.gain[mask],
        costs=edges.costs.select(mask),
        buyer_utility=edges.buyer_utility[mask],
        seller_utility=edges.seller_utility[mask],
    )


def pair_result(
    mechanism: str, book: Book, chosen: Edges, grid: GridPrices, satisfaction: Satisfaction | None = None
) -> ClearingResult:
    """The result of a one-to-one matching: each chosen edge is one trade at its pair price."""
    buys, sells = book.buys.orders, book.sells.orders
    trades = [
        Trade(buys[i], sells[j], q, p, p)
        for i, j, q, p in zip(
            chosen.buyer.tolist(), chosen.seller.tolist(), chosen.energy_wh.tolist(), chosen.price_per_wh.tolist()
        )
    ]
    buy_traded = np.zeros(len(buys), dtype=np.int64)
    sell_traded = np.zeros(len(sells), dtype=np.int64)
    buy_traded[chosen.buyer] = chosen.energy_wh
    sell_traded[chosen.seller] = chosen.energy_wh
    return assemble(mechanism, book, trades, buy_traded, sell_traded, grid, satisfaction)


@dataclass(frozen=True)
class PairTerms:
    """One pair's terms as Python ints: for tests, audits and reports."""

    energy_wh: int
    price_per_wh: int
    distance_m: int  # both detours
    buyer_detour_m: int
    seller_detour_m: int
    meeting_lat: float
    meeting_lon: float
    meeting_ts: int
    together_s: int  # how long both can stay at the meeting point
    transfer_s: int
    buyer_transfer_time_cost: int  # each driver's time during the transfer, part of its share
    seller_transfer_time_cost: int
    buyer_share: int
    seller_share: int
    cost: int
    welfare: int
    buyer_utility: int
    seller_utility: int
    feasible: bool
    acceptable: bool


def pair_terms(buyer: Order, seller: Order, params: ClearingParams) -> PairTerms:
    one = np.zeros(1, dtype=np.int64)
    e = edge_terms(SideBook(Side.BUY, [buyer]), SideBook(Side.SELL, [seller]), one, one, params)
    c = e.costs
    return PairTerms(
        energy_wh=int(e.energy_wh[0]),
        price_per_wh=int(e.price_per_wh[0]),
        distance_m=int(c.distance_m[0]),
        buyer_detour_m=int(c.buyer_detour_m[0]),
        seller_detour_m=int(c.seller_detour_m[0]),
        meeting_lat=float(c.meeting_lat[0]),
        meeting_lon=float(c.meeting_lon[0]),
        meeting_ts=int(c.meeting_ts[0]),
        together_s=int(c.together_s[0]),
        transfer_s=int(c.transfer_s[0]),
        buyer_transfer_time_cost=int(c.buyer_transfer_time_cost[0]),
        seller_transfer_time_cost=int(c.seller_transfer_time_cost[0]),
        buyer_share=int(c.buyer_share[0]),
        seller_share=int(c.seller_share[0]),
        cost=int(c.total[0]),
        welfare=int(e.welfare[0]),
        buyer_utility=int(e.buyer_utility[0]),
        seller_utility=int(e.seller_utility[0]),
        feasible=bool(e.feasible[0]),
        acceptable=bool(e.acceptable[0]),
    )
