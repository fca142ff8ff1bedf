"""One sort for many keys: a numpy.sort of a packed 64-bit prefix carrying each row's index in its low bits, exact
re-sorting of only the rows it cannot tell apart. At 1M rows np.lexsort of two int64 keys takes as long as ~10
argsorts of one, and an argsort of one uint64 as long as ~3-4 sorts of it (numpy sorts with SIMD, argsorts without)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sorted_rows(
    prefix: np.ndarray, keys: Callable[[np.ndarray], tuple[np.ndarray, ...]], *, overwrite: bool = False
) -> np.ndarray:
    """np.lexsort of the full keys (keys(positions): last key primary; they tell rows apart), given a uint64 prefix
    of them, non-decreasing in their order. The prefix's top 64 - b bits (b = bits of a row index; still a prefix,
    so the order stays exact) are sorted with the row index in the low b bits: one np.sort, no argsort. Then a
    lexsort of only the rows the kept bits tie, whose full keys are the only ones built. overwrite: the prefix is
    a throwaway, so it is packed and sorted in its own buffer (one fresh array fewer)."""
    return sorted_rows_and_ties(prefix, keys, overwrite=overwrite)[0]


def sorted_rows_and_ties(
    prefix: np.ndarray, keys: Callable[[np.ndarray], tuple[np.ndarray, ...]], *, overwrite: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """sorted_rows, and the positions i (ascending) where sorted rows i and i + 1 share the prefix's kept bits: every
    pair of neighbours whose prefixes are equal is among them."""
    n = len(prefix)
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    index = np.arange(n, dtype=np.int64)  # its buffer then holds the permutation: one fresh array fewer
    packed = np.bitwise_and(prefix, ~low, out=prefix if overwrite else None, dtype=np.uint64)
    packed |= index.view(np.uint64)
    packed.sort()
    np.bitwise_and(packed, low, out=index.view(np.uint64))  # row indices < 2^63: the same bits as int64
    packed &= ~low  # the kept prefix bits, in sorted order
    tie = packed[1:] == packed[:-1]
    if not tie.any():
        return index, np.zeros(0, dtype=np.int64)
    member = np.zeros(n, dtype=bool)
    member[1:] |= tie
    member[:-1] |= tie
    at = np.flatnonzero(member)
    rows = index[at]
    index[at] = rows[np.lexsort(keys(rows))]  # tied runs keep their places and sizes
    return index, np.flatnonzero(tie)


def packed_prefix(primary: np.ndarray, nonce: np.ndarray, owner_key: np.ndarray) -> np.ndarray:
    """A prefix of the key (primary, nonce, owner) for sorted_rows, left-aligned (sorted_rows keeps the top bits):
    the primary key (any int64, less its minimum; a price, a remainder), the nonce and the owner's top bits in 64
    bits when they fit; else the primary alone."""
    if not len(primary):
        return np.zeros(0, dtype=np.uint64)
    low = primary.min()
    primary = (primary - low).view(np.uint64) if primary.dtype == np.int64 else (primary - low).astype(np.uint64)
    primary_bits, nonce_bits = int(primary.max()).bit_length(), int(nonce.max()).bit_length()
    free = 64 - primary_bits - nonce_bits
    packed = primary  # a fresh array: shifted and or-ed in place
    if primary_bits:
        packed <<= np.uint64(64 - primary_bits)
    if free < 0:
        return packed
    scratch = np.empty_like(packed)
    if nonce_bits:
        packed |= np.left_shift(nonce, np.uint64(free), out=scratch)
    if free:
        packed |= np.right_shift(owner_key, np.uint64(64 - free), out=scratch)
    return packed
