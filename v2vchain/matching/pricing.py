"""k-pricing: the one integer rounding rule for a price between an ask and a bid."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, overload

import numpy as np


@overload
def k_price(low: int, high: int, k: Fraction) -> int: ...
@overload
def k_price(low: np.ndarray, high: np.ndarray, k: Fraction) -> np.ndarray: ...
def k_price(low: Any, high: Any, k: Fraction) -> Any:
    """low + floor(k x (high - low)): k = 0 gives the ask, k = 1 the bid; rounding down favours the buyer by less
    than one token unit per Wh, and the result always stays inside [low, high]."""
    return low + (k.numerator * (high - low)) // k.denominator
