"""One sort for many keys: an argsort of a packed 64-bit prefix, exact re-sorting of only the rows it cannot tell
apart. At 1M rows np.lexsort of two int64 keys takes as long as ~10 argsorts of one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sorted_rows(prefix: np.ndarray, keys: Callable[[np.ndarray], tuple[np.ndarray, ...]]) -> np.ndarray:
    """np.lexsort of the full keys (keys(positions): last key primary; they tell rows apart), given a uint64 prefix
    of them, non-decreasing in their order. One argsort of the prefix, then a lexsort of only the tied rows, whose
    full keys are the only ones built."""
    index = np.argsort(prefix)
    ordered = prefix[index]
    tie = ordered[1:] == ordered[:-1]
    if tie.any():
        member = np.zeros(len(index), dtype=bool)
        member[1:] |= tie
        member[:-1] |= tie
        at = np.flatnonzero(member)
        rows = index[at]
        index[at] = rows[np.lexsort(keys(rows))]  # tied runs keep their places and sizes
    return index


def packed_prefix(primary: np.ndarray, nonce: np.ndarray, owner_key: np.ndarray) -> np.ndarray:
    """A prefix of the key (primary, nonce, owner) for sorted_rows: the primary key (any int64, less its minimum; a
    price, a remainder), the nonce and the owner's top bits in 64 bits when they fit; else the primary alone."""
    if not len(primary):
        return np.zeros(0, dtype=np.uint64)
    primary = (primary - primary.min()).astype(np.uint64)
    primary_bits, nonce_bits = int(primary.max()).bit_length(), int(nonce.max()).bit_length()
    free = 64 - primary_bits - nonce_bits
    if free < 0:
        return primary
    packed: np.ndarray = (
        (primary << np.uint64(64 - primary_bits)) | (nonce << np.uint64(free)) | (owner_key >> np.uint64(64 - free))
    )
    return packed
