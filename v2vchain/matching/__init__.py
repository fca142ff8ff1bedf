"""Off-chain market clearing: orders, the pair cost model, and four mechanisms, as pure deterministic functions.

Integer units throughout: energy in Wh, prices in token units per Wh, money = Wh x price.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .assignment import welfare_assignment
from .book import Book, make_book
from .costs import CostParams
from .double_auction import double_auction
from .orders import Order, Side
from .outside import Station
from .pairs import PairTerms, pair_terms
from .params import ClearingParams, GridPrices
from .result import ClearingResult, Satisfaction, Trade, Unmatched
from .stable import stable_matching
from .trade_reduction import trade_reduction

Mechanism = Callable[[Sequence[Order], ClearingParams], ClearingResult]

MECHANISMS: dict[str, Mechanism] = {
    "double-auction-k": double_auction,
    "mcafee-trade-reduction": trade_reduction,
    "max-welfare-assignment": welfare_assignment,
    "gale-shapley-buyer-proposing": lambda orders, params: stable_matching(orders, params, Side.BUY),
    "gale-shapley-seller-proposing": lambda orders, params: stable_matching(orders, params, Side.SELL),
}

__all__ = [
    "Book",
    "ClearingParams",
    "ClearingResult",
    "CostParams",
    "GridPrices",
    "MECHANISMS",
    "Order",
    "PairTerms",
    "Satisfaction",
    "Side",
    "Station",
    "Trade",
    "Unmatched",
    "double_auction",
    "make_book",
    "pair_terms",
    "stable_matching",
    "trade_reduction",
    "welfare_assignment",
]
