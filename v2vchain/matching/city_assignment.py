"""The maximum-welfare assignment (assignment.py) at city scale, on order columns (columnar.py).

The object path's candidate generation loops in Python over each buyer area and materialises every candidate's
terms at once; at 100,000 vehicles that is tens of millions of pairs. Here the candidates (each buyer's
`nearest_areas` nearest seller areas, as pairs.candidate_pairs picks them) are built with array arithmetic, their
terms are computed in chunks of buyers with pairs.edge_terms, and only the acceptable pairs are kept; the matching is
assignment.max_weight_matching on the same edges in the same order, so the result equals the object path's.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .areas import unit_vectors
from .assignment import MECHANISM, max_weight_matching
from .columnar import ClearedColumns, ColumnSide, OrderColumns, cleared, make_book
from .pairs import edge_terms
from .params import ClearingParams

CHUNK_PAIRS = 1_000_000  # candidate pairs whose terms are computed at once (3 meeting points each): < 1 GiB


def welfare_assignment(cols: OrderColumns, params: ClearingParams) -> ClearedColumns:
    """assignment.clear_welfare_assignment on columns."""
    book = make_book(cols)
    buyer, seller, energy, price, welfare = acceptable_edges(book.buys, book.sells, params)
    chosen = max_weight_matching(buyer, seller, welfare, len(book.buys), len(book.sells))
    buy_traded = np.zeros(len(book.buys), dtype=np.int64)
    sell_traded = np.zeros(len(book.sells), dtype=np.int64)
    buy_traded[buyer[chosen]] = energy[chosen]
    sell_traded[seller[chosen]] = energy[chosen]
    return cleared(
        MECHANISM,
        book,
        buyer[chosen],
        seller[chosen],
        energy[chosen],
        price[chosen],
        price[chosen],
        buy_traded,
        sell_traded,
    )


def acceptable_edges(
    buys: ColumnSide, sells: ColumnSide, params: ClearingParams, chunk_pairs: int = CHUNK_PAIRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(buyer, seller, Wh, price, welfare) of the acceptable candidate pairs, sorted by buyer then seller."""
    starts, sellers = candidate_sellers(buys, sells, params.nearest_areas)
    parts = []
    first = 0
    while first < len(buys):
        last = int(np.searchsorted(starts, starts[first] + chunk_pairs, "right")) - 1
        last = min(max(last, first + 1), len(buys))
        buyer = np.repeat(np.arange(first, last), np.diff(starts[first : last + 1]))
        seller = sellers[starts[first] : starts[last]]
        # necessary for acceptable (costs are never negative), and cheap: most pairs stop here
        maybe = (buys.price[buyer] > sells.price[seller]) & (
            np.minimum(buys.end[buyer], sells.end[seller]) >= np.maximum(buys.start[buyer], sells.start[seller])
        )
        buyer, seller = buyer[maybe], seller[maybe]
        edges = edge_terms(buys, sells, buyer, seller, params)  # type: ignore[arg-type]  # SideBook's columns
        keep = edges.acceptable
        parts.append((buyer[keep], seller[keep], edges.energy_wh[keep], edges.price_per_wh[keep], edges.welfare[keep]))
        first = last
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    buyer, seller, energy, price, welfare = (np.concatenate(column) for column in zip(*parts))
    return buyer, seller, energy, price, welfare


def candidate_sellers(buys: ColumnSide, sells: ColumnSide, nearest_areas: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidates as CSR: buyer i's sellers are sellers[starts[i]:starts[i + 1]], ascending. A seller area is one
    cell id, placed at its first seller's centre; a buyer area queries from its first buyer's centre."""
    if not len(buys) or not len(sells):
        return np.zeros(len(buys) + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    names = np.unique(buys.cols.cell_id)  # cell ids are the areas: one per id, whatever the table's rows
    seller_area = np.searchsorted(names, buys.cols.cell_id[buys.cols.cell[sells.rows]])
    buyer_area = np.searchsorted(names, buys.cols.cell_id[buys.cols.cell[buys.rows]])
    members = np.argsort(seller_area, kind="stable")  # sellers grouped by area (areas by id), book order inside
    area_ids, first_member, counts = np.unique(seller_area[members], return_index=True, return_counts=True)
    member_start = np.concatenate(([0], np.cumsum(counts)))
    tree = cKDTree(unit_vectors(sells.lat[members[first_member]], sells.lon[members[first_member]]))
    k = min(nearest_areas, len(area_ids))
    groups, first_buyer, group_of = np.unique(buyer_area, return_index=True, return_inverse=True)
    _, near = tree.query(unit_vectors(buys.lat[first_buyer], buys.lon[first_buyer]), k=k)
    near = np.asarray(near).reshape(len(groups), k)
    # each buyer area's sellers: the members of its k areas, ascending
    lengths = counts[near]
    flat = members[_ragged(member_start[near.ravel()], lengths.ravel())]
    group_len = lengths.sum(axis=1)
    group_start = np.concatenate(([0], np.cumsum(group_len)))
    owner_group = np.repeat(np.arange(len(groups)), group_len)
    flat = flat[np.lexsort((flat, owner_group))]
    # each buyer's sellers: its area's list, buyers in book order
    per_buyer = group_len[group_of]
    starts = np.concatenate(([0], np.cumsum(per_buyer)))
    return starts, flat[_ragged(group_start[group_of], per_buyer)]


def _ragged(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of arange(s, s + n) for each (s, n): a gather index for ragged slices."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)
