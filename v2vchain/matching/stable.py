"""Gale-Shapley stable matching (Shurrab et al., Kim et al.), buyer- or seller-proposing, with satisfaction.

Each side ranks its acceptable pairs (pairs.py: feasible, costs coverable, welfare > 0, among each buyer's nearest
seller areas; none leaves a side below zero) by its own utility after its cost share, ties broken by the
counterparty's book position. Deferred acceptance gives the proposing side's best stable matching: no buyer and
seller both prefer each other to what they got. One-to-one, q = min of the two orders' Wh, at the pair price. The
satisfaction score is each partner's rank in one's own list (1 = first choice).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import numpy as np

from .book import Book, make_book
from .orders import Order, Side
from .pairs import candidate_edges, pair_result, select
from .params import ClearingParams
from .result import ClearingResult, Satisfaction

MECHANISM = {Side.BUY: "gale-shapley-buyer-proposing", Side.SELL: "gale-shapley-seller-proposing"}


def stable_matching(orders: Iterable[Order], params: ClearingParams, proposer: Side = Side.BUY) -> ClearingResult:
    return clear_stable_matching(make_book(orders), params, proposer)


def clear_stable_matching(book: Book, params: ClearingParams, proposer: Side = Side.BUY) -> ClearingResult:
    edges = candidate_edges(book, params)
    edges = select(edges, edges.acceptable)
    buyer_rank = _ranks(edges.buyer, edges.seller, edges.buyer_utility)
    seller_rank = _ranks(edges.seller, edges.buyer, edges.seller_utility)
    if proposer is Side.BUY:
        chosen = _deferred_acceptance(edges.buyer, edges.seller, buyer_rank, seller_rank, len(book.buys))
    else:
        chosen = _deferred_acceptance(edges.seller, edges.buyer, seller_rank, buyer_rank, len(book.sells))
    mask = np.zeros(len(edges), dtype=bool)
    mask[chosen] = True
    satisfaction = Satisfaction(tuple((buyer_rank[mask] + 1).tolist()), tuple((seller_rank[mask] + 1).tolist()))
    return pair_result(MECHANISM[proposer], book, select(edges, mask), params.grid, satisfaction)


def _ranks(owner: np.ndarray, other: np.ndarray, utility: np.ndarray) -> np.ndarray:
    """Each edge's 0-based position in its owner's preference list (utility descending, then book position)."""
    order = np.lexsort((other, -utility, owner))
    rank = np.empty(len(owner), dtype=np.int64)
    starts = np.searchsorted(owner[order], owner[order], "left")
    rank[order] = np.arange(len(owner)) - starts
    return rank


def _deferred_acceptance(
    proposer: np.ndarray, receiver: np.ndarray, proposer_rank: np.ndarray, receiver_rank: np.ndarray, n_proposers: int
) -> list[int]:
    """The chosen edges. Proposers work down their lists; a receiver holds its best proposal so far."""
    lists = np.lexsort((proposer_rank, proposer)).tolist()  # edges grouped by proposer, best first
    bounds = np.searchsorted(proposer[lists], np.arange(n_proposers + 1), "left").tolist()
    next_choice = bounds[:-1]
    holding: dict[int, int] = {}
    free = deque(range(n_proposers))
    rank = receiver_rank.tolist()
    receivers, proposers = receiver.tolist(), proposer.tolist()
    while free:
        p = free.popleft()
        while next_choice[p] < bounds[p + 1]:
            edge = lists[next_choice[p]]
            next_choice[p] += 1
            r = receivers[edge]
            held = holding.get(r)
            if held is None or rank[edge] < rank[held]:
                holding[r] = edge
                if held is not None:
                    free.append(proposers[held])
                break
    return sorted(holding.values())
