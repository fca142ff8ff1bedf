"""Maximum-welfare assignment (Kuhn-Munkres family; Zhang et al.): the pairs that maximise total welfare.

One-to-one: a seller serves at most one buyer in a clearing (one meeting, one cable), and a pair trades
min(buyer's Wh, seller's Wh) at its pair price (pairs.py); the rest of the larger order goes to the grid. Edges are
the acceptable pairs (feasible, costs coverable, welfare > 0) among each buyer's nearest seller areas. Solved
exactly with scipy's sparse LAPJV (min_weight_full_bipartite_matching) on the usual doubled graph, where every
vehicle may also stay unmatched; weights are integers, exact in float64 while the bound checked below holds.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from .book import Book, make_book
from .errors import InvalidClearingParameter
from .orders import Order
from .pairs import candidate_edges, pair_result, select
from .params import ClearingParams
from .result import ClearingResult

MECHANISM = "max-welfare-assignment"
_EXACT = 2**52  # every partial sum the solver forms stays an exact float64 integer below this


def welfare_assignment(orders: Iterable[Order], params: ClearingParams) -> ClearingResult:
    return clear_welfare_assignment(make_book(orders), params)


def clear_welfare_assignment(book: Book, params: ClearingParams) -> ClearingResult:
    edges = candidate_edges(book, params)
    edges = select(edges, edges.acceptable)
    chosen = select(
        edges, max_weight_matching(edges.buyer, edges.seller, edges.welfare, len(book.buys), len(book.sells))
    )
    return pair_result(MECHANISM, book, chosen, params.grid)


def max_weight_matching(
    buyer: np.ndarray, seller: np.ndarray, weight: np.ndarray, n_buyers: int, n_sellers: int
) -> np.ndarray:
    """A mask over the edges: a matching of maximum total weight (weights > 0, integer).

    Doubled graph: rows are buyers then one dummy per seller, columns sellers then one dummy per buyer. Buyer i may
    take its own dummy, seller j its own dummy row, and for every real edge (i, j) dummy-row j may take
    dummy-column i, so any matching of the real graph completes to a perfect one. All costs are C - w (real) or C
    (dummy) with C = max w + 1, positive so no edge is read as missing; every perfect matching has n + m edges,
    so the cheapest is the heaviest real matching.
    """
    m = len(weight)
    if m == 0:
        return np.zeros(0, dtype=bool)
    c = int(weight.max()) + 1
    if c * (n_buyers + n_sellers + 1) >= _EXACT:
        raise InvalidClearingParameter("weights", c, "too large for an exact float64 assignment")
    rows = np.concatenate((buyer, np.arange(n_buyers), n_buyers + np.arange(n_sellers), n_buyers + seller))
    cols = np.concatenate((seller, n_sellers + np.arange(n_buyers), np.arange(n_sellers), n_sellers + buyer))
    cost = np.concatenate((c - weight, np.full(n_buyers + n_sellers + m, c))).astype(np.float64)
    size = n_buyers + n_sellers
    graph = csr_matrix((cost, (rows, cols)), shape=(size, size))
    row_of, col_of = min_weight_full_bipartite_matching(graph)
    partner = np.full(n_buyers, -1, dtype=np.int64)
    real = (row_of < n_buyers) & (col_of < n_sellers)
    partner[row_of[real]] = col_of[real]
    return np.asarray(partner[buyer] == seller)
