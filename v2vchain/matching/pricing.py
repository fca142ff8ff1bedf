"""k-pricing: the one integer rounding rule for a price between an ask and a bid."""

from __future__ import annotations

from fractions import Fraction
from typing import TypeVar

import numpy as np

IntLike = TypeVar("IntLike", int, np.ndarray)


def k_price(low: IntLike, high: IntLike, k: Fraction) -> IntLike:
    """low + floor(k x (high - low)): k = 0 gives the ask, k = 1 the bid; rounding down favours the buyer by less
    than one token unit per Wh, and the result always stays inside [low, high]."""
    return low + (k.numerator * (high - low)) // k.denominator
